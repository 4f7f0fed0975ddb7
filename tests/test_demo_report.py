"""The demo's one-page summary: the paired gain with its interval, the out-of-family line,
linked reports, present plots only."""

from __future__ import annotations

from stepcoder.eval import paired_bootstrap
from stepcoder.trainer.demo import HeldoutEval, write_demo_report


def test_demo_report_holds_the_figures_and_only_existing_plots(tmp_path):
    (tmp_path / "ppo" / "plots").mkdir(parents=True)
    (tmp_path / "ppo" / "plots" / "reward_pass.png").write_bytes(b"\x89PNG")
    before = HeldoutEval(0.25, {"a": 0.5, "b": 0.0, "c": 0.5, "d": 0.0}, {"PASS": 2, "WRONG_ANSWER": 6})
    after = HeldoutEval(0.5, {"a": 1.0, "b": 0.0, "c": 0.5, "d": 0.5}, {"PASS": 4, "WRONG_ANSWER": 4})
    gain = paired_bootstrap(before.per_problem, after.per_problem, n_boot=500)
    ood = paired_bootstrap({"x": 0.0}, {"x": 0.5}, n_boot=100)
    text = write_demo_report(tmp_path, gain, ood, {"SFT warm start": 151.4}, before, after).read_text()
    assert f"**held-out pass@1: 0.250 -> 0.500 (+25.0, 95% CI [{100 * gain.lo:.1f}, {100 * gain.hi:.1f}])**" in text
    assert "| after SFT (BEFORE) | 0.250 | 2 | 6 | [eval-sft/report.md](eval-sft/report.md) |" in text
    assert "| SFT warm start | 151 |" in text
    assert "on 4 problems" in text
    assert "Out-of-family problems" in text and "1 problems" in text
    assert "ppo/plots/reward_pass.png" in text
    assert "curriculum.png" not in text  # absent plots are not linked
    assert text.startswith("# stepcoder demo: StepCoder on the embedded tiny default")


def test_demo_report_names_other_data_and_skips_a_single_group(tmp_path):
    before = HeldoutEval(0.0, {"a": 0.0, "b": 0.0}, {"WRONG_ANSWER": 2})
    after = HeldoutEval(0.5, {"a": 1.0, "b": 0.0}, {"PASS": 1, "WRONG_ANSWER": 1})
    gain = paired_bootstrap(before.per_problem, after.per_problem, n_boot=100)
    text = write_demo_report(tmp_path, gain, None, {}, before, after, {"all": (0.0, 0.5, 2)},
                             subject="smollm2-135m: mbpp-train.jsonl -> mbpp-test.jsonl").read_text()
    assert text.startswith("# stepcoder demo: StepCoder on smollm2-135m: mbpp-train.jsonl -> mbpp-test.jsonl")
    assert "training families" not in text and "tiny" not in text
    assert "per group" not in text and not (tmp_path / "plots" / "heldout_by_group.png").exists()


def test_demo_report_shows_where_the_gain_comes_from(tmp_path):
    """Per family (tiny) or difficulty (other data): the held-out rates before and after, as a
    plot and a table sorted by change."""
    from stepcoder.problems.types import Problem
    from stepcoder.trainer.demo import group_rates

    problems = [Problem(id=i, prompt="", solution=None, tests=[], difficulty="introductory", meta=meta)
                for i, meta in (("a", {"family": "mul"}), ("b", {"family": "mul"}), ("c", {"family": "sign"}), ("d", {}))]
    before = HeldoutEval(0.25, {"a": 0.0, "b": 0.0, "c": 1.0, "d": 0.0}, {})
    after = HeldoutEval(0.5, {"a": 1.0, "b": 0.0, "c": 0.0, "d": 1.0}, {})
    groups = group_rates(problems, before.per_problem, after.per_problem)
    assert groups == {"mul": (0.0, 0.5, 2), "sign": (1.0, 0.0, 1), "introductory": (0.0, 1.0, 1)}
    gain = paired_bootstrap(before.per_problem, after.per_problem, n_boot=200)
    text = write_demo_report(tmp_path, gain, None, {}, before, after, groups).read_text()
    assert (tmp_path / "plots" / "heldout_by_group.png").stat().st_size > 1000
    rows = [line for line in text.splitlines() if line.startswith(("| mul", "| sign", "| introductory"))]
    assert rows == ["| introductory | 1 | 0.00 | 1.00 | +100.0 |", "| mul | 2 | 0.00 | 0.50 | +50.0 |",
                    "| sign | 1 | 1.00 | 0.00 | -100.0 |"]
