"""The paired gain and its bootstrap interval, the demo's headline line, the rollout metrics
that show a broken curriculum, and the ablation's overrides, summary and results page."""

from __future__ import annotations

import json

import pytest

from stepcoder.eval import paired_bootstrap, per_problem_pass_rate


def test_per_problem_pass_rate_by_hand():
    records = [{"task_id": "a", "passed": True}, {"task_id": "a", "passed": False},
               {"task_id": "b", "passed": False}, {"task_id": "b", "passed": False}]
    assert per_problem_pass_rate(records) == {"a": 0.5, "b": 0.0}


def test_paired_gain_by_hand_and_interval():
    before = {f"p{i}": 0.0 for i in range(100)}
    after = {f"p{i}": 1.0 if i < 10 else 0.0 for i in range(100)}  # 10 of 100 problems flip
    g = paired_bootstrap(before, after, n_boot=4000, seed=0)
    assert (g.before, g.after, g.gain, g.n) == (0.0, 0.1, 0.1, 100)
    # the mean of 100 Bernoulli(0.1) differences: standard error sqrt(0.1 * 0.9 / 100) = 0.03
    assert g.lo == pytest.approx(0.1 - 1.96 * 0.03, abs=0.015) and g.hi == pytest.approx(0.1 + 1.96 * 0.03, abs=0.015)
    assert paired_bootstrap(before, after, n_boot=4000, seed=0) == g  # seeded
    assert g.line() == f"held-out pass@1: 0.000 -> 0.100 (+10.0, 95% CI [{100 * g.lo:.1f}, {100 * g.hi:.1f}])"


def test_pairing_removes_the_problem_noise():
    """Problems that are easy or hard for both models do not widen the interval: the same
    gain on a mix of always-pass and never-pass problems has the same interval as alone."""
    flips_b = {f"f{i}": 0.0 for i in range(50)}
    flips_a = {f"f{i}": 1.0 if i < 25 else 0.0 for i in range(50)}
    alone = paired_bootstrap(flips_b, flips_a, seed=1)
    mixed_b = {**flips_b, **{f"e{i}": 1.0 for i in range(25)}, **{f"h{i}": 0.0 for i in range(25)}}
    mixed_a = {**flips_a, **{f"e{i}": 1.0 for i in range(25)}, **{f"h{i}": 0.0 for i in range(25)}}
    mixed = paired_bootstrap(mixed_b, mixed_a, seed=1)
    assert mixed.gain == pytest.approx(alone.gain / 2)  # twice the problems, same flips
    assert (mixed.hi - mixed.lo) < (alone.hi - alone.lo)


def test_paired_bootstrap_refuses_different_problem_sets():
    with pytest.raises(ValueError, match="different problems"):
        paired_bootstrap({"a": 1.0}, {"b": 1.0})
    with pytest.raises(ValueError, match="no problems"):
        paired_bootstrap({}, {})


def test_rollout_metrics_show_the_curriculum_at_a_glance():
    from stepcoder.trainer.step_metrics import rollout_metrics

    def rec(prefix: str, verdict: str, problem: str = "p", completion: str = "", reward: float = 0.0) -> dict:
        return {"problem_id": problem, "prefix": prefix, "completion": completion, "verdict": verdict,
                "reward": reward, "tokens": 4, "loss_tokens": 4}

    records = [rec("x = 1", "COMPILE_ERROR"), rec("x = 1", "PASS"), rec("y", "PASS"), rec("", "COMPILE_ERROR")]
    m = rollout_metrics(records)
    assert m["cccs_prefixed_frac"] == 3 / 4
    assert m["cccs_prefixed_compile_error_rate"] == 1 / 3  # the unprefixed compile error does not count
    assert rollout_metrics([rec("", "PASS")])["cccs_prefixed_compile_error_rate"] == 0.0
    # groups without contrast: a (one reward, one program), b (one reward, two programs),
    # c (two rewards)
    groups = [rec("", "PASS", "a", "x", 1.0), rec("", "PASS", "a", "x", 1.0),
              rec("", "WRONG_ANSWER", "b", "x", -0.3), rec("", "WRONG_ANSWER", "b", "y", -0.3),
              rec("", "PASS", "c", "x", 1.0), rec("", "WRONG_ANSWER", "c", "y", -0.3)]
    m = rollout_metrics(groups)
    assert m["groups/uniform_reward_frac"] == 2 / 3 and m["groups/identical_program_frac"] == 1 / 3


def test_with_overrides_replaces_and_validates():
    from stepcoder.trainer.ablation import VARIANTS, with_overrides
    from stepcoder.trainer.config import TrainConfig

    cfg = TrainConfig()
    vanilla = next(v for v in VARIANTS if v.slug == "vanilla-ppo")
    changed = with_overrides(cfg, vanilla.overrides)
    assert changed.curriculum.start_stage == 0 and changed.fgo.enabled is False
    assert cfg.fgo.enabled is True  # the original is untouched
    with pytest.raises(ValueError):
        with_overrides(cfg, {"ppo.advantage": "nonsense"})
    assert [v.slug for v in VARIANTS] == ["sft", "vanilla-ppo", "no-cccs", "no-fgo", "stepcoder", "group"]


def fake_results() -> dict:
    """Two seeds, 40 problems: StepCoder passes 30, w/o FGO 26, SFT 20 (per seed)."""
    def run(n_pass: int) -> dict:
        per = {f"p{i}": 1.0 if i < n_pass else 0.0 for i in range(40)}
        return {"pass_at_1": n_pass / 40, "per_problem": per}

    variants = {"SFT only": (29.8, 20), "StepCoder w/o FGO": (35.5, 26), "StepCoder": (36.1, 30)}
    return {"heldout_problems": 40, "seeds": [0, 1],
            "variants": {name: {"paper_overall": paper, "seeds": {"0": run(k), "1": run(k)}}
                         for name, (paper, k) in variants.items()}}


def test_summary_rows_and_results_page(tmp_path):
    from stepcoder.trainer.ablation import ordering_statements, summary_rows, write_results_page

    rows = {r["variant"]: r for r in summary_rows(fake_results())}
    assert rows["StepCoder"]["mean"] == 0.75 and rows["StepCoder"]["std"] == 0.0
    assert rows["StepCoder"]["vs_reference"] is None
    diff = rows["SFT only"]["vs_reference"]
    assert diff.gain == pytest.approx(0.25) and diff.lo > 0  # StepCoder - SFT: 10 problems ahead, every resample
    statements = ordering_statements(list(rows.values()))
    assert any("StepCoder > SFT only" in s and "holds here" in s for s in statements)
    page = write_results_page(fake_results(), tmp_path / "results.md", tmp_path / "img" / "ablation.png")
    text = page.read_text()
    assert "| StepCoder | 75.0 ± 0.0 | 75.0, 75.0 | 36.1 |" in text
    assert "(img/ablation.png)" in text and (tmp_path / "img" / "ablation.png").stat().st_size > 0
    json.dumps(fake_results())  # what run_ablation writes is plain JSON


@pytest.mark.parametrize("sft_epochs,sft_evals", [(0, 1), (1, 2)])
def test_ablation_evaluates_a_warm_start_every_seed_shares_once(monkeypatch, tmp_path, sft_epochs, sft_evals):
    """With sft.epochs 0 every seed starts RL from the same model: its greedy held-out
    measurement is made once and reused; a per-seed SFT model is measured per seed."""
    import dataclasses

    from stepcoder.config import load_yaml
    from stepcoder.trainer import ablation
    from stepcoder.trainer.config import TrainConfig, resolve_config_path
    from stepcoder.trainer.demo import HeldoutEval

    cfg = load_yaml(TrainConfig, resolve_config_path("tiny"))
    cfg = dataclasses.replace(cfg, sft=dataclasses.replace(cfg.sft, epochs=sft_epochs))
    evaluated = []
    monkeypatch.setattr(ablation, "load_heldout_problems", lambda data: ["p"])
    monkeypatch.setattr(ablation, "sft_stage", lambda c, out: c.model.name_or_path if c.sft.epochs == 0 else str(out))
    monkeypatch.setattr(ablation, "ppo_stage", lambda c, sft, out: str(out))
    monkeypatch.setattr(ablation, "heldout_eval", lambda model, c, out, problems: evaluated.append(str(model))
                        or HeldoutEval(0.5, {"p": 0.5}, {}))
    results = ablation.run_ablation(cfg, tmp_path, seeds=[0, 1], log=lambda *a: None)
    rl_variants = [v for v in ablation.VARIANTS if v.overrides is not None]
    sft_models = [m for m in evaluated if not m.endswith("ppo")]
    assert len(sft_models) == sft_evals and len(evaluated) == sft_evals + 2 * len(rl_variants)
    sft_name = next(v.name for v in ablation.VARIANTS if v.overrides is None)
    assert set(results["variants"][sft_name]["seeds"]) == {"0", "1"}  # both seeds still have the row
