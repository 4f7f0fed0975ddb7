"""Reports of a synthetic training run and eval: files exist, PNGs are valid, figures match."""

from __future__ import annotations

import json
from pathlib import Path


from stepcoder.cli import main
from stepcoder.report import render_fgo_sample, write_comparison, write_eval_report, write_run_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_metrics(steps: int, slope: float) -> list[dict]:
    rows = []
    for step in range(1, steps + 1):
        passed = min(16, round(slope * step))
        rows.append({
            "step": step, "reward_mean": -0.6 + 0.05 * step * slope, "pass_rate": passed / 16,
            "verdict/PASS": passed, "verdict/WRONG_ANSWER": 16 - passed, "verdict/COMPILE_ERROR": 0,
            "curriculum/stage_0": step, "curriculum/stage_1": steps - step,
            "curriculum/mean_prefix_fraction": 1 - step / steps, "kl": 0.001 * step,
            "entropy": 1.0, "time/generate": 2.0, "time/execute": 0.5, "time/update": 1.0,
            "time/step": 3.6, "fgo/masked_fraction": 0.25,
        })
    return rows


def make_run(root: Path, name: str, steps: int = 12, slope: float = 1.0) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("seed: 0\n")
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in fake_metrics(steps, slope)))
    samples = [
        {"step": 1, "problem_id": "p-first", "stage": 1, "prefix": "def f(x):\n", "completion": "    return x\n",
         "verdict": "WRONG_ANSWER", "reward": -0.3, "fgo_masked_fraction": 0.5,
         "completion_tokens": ["    return", " x", "\n", ""], "fgo_mask": [1, 1, 0, 0]},
        {"step": steps, "problem_id": "p-last", "stage": 0, "prefix": "", "completion": "print(42)\n",
         "verdict": "PASS", "reward": 1.0, "fgo_masked_fraction": 0.0},
    ]
    (run / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    return run


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC, path
    assert path.stat().st_size > 5_000  # an empty canvas is smaller than a plot with text


def test_run_report_files_and_figures(tmp_path):
    run = make_run(tmp_path, "stepcoder-run", steps=12)
    report = write_run_report(run)
    text = report.read_text()
    for name in ("reward_pass", "verdicts", "curriculum", "kl", "time_per_phase"):
        assert_png(run / "plots" / f"{name}.png")
        assert f"plots/{name}.png" in text
    # first step reward -0.6 + 0.05 = -0.55, last -0.6 + 0.05 * 12 = 0; pass rate 1/16 -> 12/16
    assert "| reward_mean | -0.55 |" in text
    assert f"| pass_rate | {1 / 16:.4g} | {12 / 16:.4g} |" in text
    assert f"{12 * 3.6 / 60:.1f} min of step time" in text
    assert "p-first" in text and "p-last" in text and "print(42)" in text and "WRONG_ANSWER" in text


def test_run_report_skips_plots_of_features_that_were_off(tmp_path):
    run = tmp_path / "plain"
    run.mkdir()
    rows = [{"step": s, "reward_mean": 0.1 * s, "pass_rate": 0.0} for s in range(3)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 3, "rew')
    text = write_run_report(run).read_text()  # the torn last line is skipped
    assert (run / "plots" / "reward_pass.png").exists()
    assert not (run / "plots" / "curriculum.png").exists() and "curriculum.png" not in text
    assert "No sampled programs" in text


def test_eval_report(tmp_path):
    data = {"model": "tiny", "data": "apps_plus.json", "n": 4, "k": [1, 2], "num_problems": 3,
            "pass_at_k": {"Overall": {"pass@1": 0.25, "pass@2": 0.5}, "introductory": {"pass@1": 0.5, "pass@2": 0.75}},
            "by_verdict": {"PASS": 3, "WRONG_ANSWER": 9}}
    (tmp_path / "eval.json").write_text(json.dumps(data))
    text = write_eval_report(tmp_path).read_text()
    assert_png(tmp_path / "plots" / "pass_at_k.png")
    assert "| Overall | 25.0 | 50.0 |" in text
    assert "| PASS | 3 | 25.0 |" in text  # 3 of 12 samples


def test_comparison_of_several_runs(tmp_path):
    runs = [make_run(tmp_path, "stepcoder", slope=1.0), make_run(tmp_path, "wo-cccs", slope=0.5)]
    text = write_comparison(runs, tmp_path / "cmp").read_text()
    assert_png(tmp_path / "cmp" / "plots" / "compare_reward_pass.png")
    # tail mean = mean over the last round(12 * 0.1) = 1 step: pass rate 12/16 vs round(6)/16
    assert f"| stepcoder | 12 | {-0.6 + 0.05 * 12:.4g} | {12 / 16:.4g} |" in text
    assert f"| wo-cccs | 12 | {-0.6 + 0.05 * 12 * 0.5:.4g} | {6 / 16:.4g} |" in text


def test_cli_report(tmp_path, capsys):
    runs = [make_run(tmp_path, "a"), make_run(tmp_path, "b", slope=0.3)]
    assert main(["report", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "out")]) == 0
    assert (runs[0] / "report.md").exists() and (runs[1] / "report.md").exists()
    assert (tmp_path / "out" / "comparison.md").exists()
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_render_fgo_sample_wraps_runs_of_masked_tokens():
    sample = {"completion_tokens": ["if", " x", ":\n", "    a()", "\n", "else", ":\n", "    b()", "\n"],
              "fgo_mask": [1, 1, 1, 0, 0, 1, 1, 1, 1]}
    assert render_fgo_sample(sample) == "if x:\n[[    a()\n]]else:\n    b()\n"
    assert render_fgo_sample({"completion_tokens": ["a", "b"], "fgo_mask": [0, 0]}) == "[[ab]]"
    assert render_fgo_sample({"completion_tokens": ["a", ""], "fgo_mask": [1, 0]}) == "a"  # an eos adds no text


def test_render_fgo_sample_refuses_a_mask_it_cannot_place():
    import pytest

    with pytest.raises(ValueError, match="2 completion tokens but 3 mask values"):
        render_fgo_sample({"completion_tokens": ["a", "b"], "fgo_mask": [1, 0, 1]})
    with pytest.raises(ValueError, match="no completion_tokens"):
        render_fgo_sample({"completion": "x"})


def test_run_report_shows_one_sample_with_its_fgo_mask(tmp_path):
    text = write_run_report(make_run(tmp_path, "fgo-run", steps=3)).read_text()
    section = text.split("## FGO mask of one sample", 1)[1]
    assert "problem `p-first`" in section and "2 of 4 completion tokens" in section
    assert "    return x[[\n]]" in section


def test_completion_token_texts_join_back_to_the_text():
    from stepcoder.trainer.step_metrics import completion_token_texts

    # "é" is 2 bytes: two byte tokens share the span (4, 5); the eos is clipped to the end
    text = "x = é\n"
    pieces = completion_token_texts(text, [(0, 1), (1, 3), (3, 4), (4, 5), (4, 5), (5, 6), (6, 6)])
    assert pieces == ["x", " =", " ", "é", "", "\n", ""]
    assert "".join(pieces) == text
