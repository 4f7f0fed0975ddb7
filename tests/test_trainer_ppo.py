"""PPO end to end on the tiny model with tiny sizes: every mode runs, logs the contract's
keys, checkpoints; a resumed run repeats an uninterrupted one exactly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from stepcoder.config import config_from_dict
from stepcoder.trainer.config import TrainConfig

pytestmark = pytest.mark.slow

REQUIRED = ["step", "reward_mean", "pass_rate", "verdict/PASS", "verdict/WRONG_ANSWER", "verdict/RUNTIME_ERROR",
            "verdict/TIMEOUT", "verdict/MEMORY_LIMIT", "verdict/COMPILE_ERROR", "curriculum/stage_0",
            "curriculum/mean_prefix_fraction", "kl", "entropy", "policy/loss", "policy/clip_frac",
            "policy/approx_kl", "fgo/masked_fraction", "perf/tokens_per_s", "perf/peak_rss_mb", "time/generate", "time/execute",
            "time/reward", "time/logprobs", "time/advantages", "time/update", "time/step", "lr/policy"]
CRITIC_KEYS = ["value/loss", "value/clip_frac", "value/explained_variance", "lr/critic"]


def tiny_config(run_dir: Path, **sections) -> TrainConfig:
    """The tiny preset's model and data at the smallest sizes that exercise everything."""
    data = {
        "model": {"name_or_path": "tiny"},
        "sampling": {"n": 2, "max_new_tokens": 12, "batch_size": 8},
        "prompt": {"template": "plain"},
        "curriculum": {"split_kinds": ["if", "elif", "for", "while"]},
        "sandbox": {"timeout_s": 0.5, "workers": 1, "preload": []},  # random programs may loop
        "ppo": {"minibatch_size": 2, "grad_accum": 2, "policy_lr": 1e-4, "critic_lr": 1e-4, "ppo_epochs": 2},
        "data": {"max_train_problems": 40},
        "training": {"steps": 2, "problems_per_step": 2, "save_every": 1, "keep_last": 2, "output_dir": str(run_dir),
                     "progress_bar": False, "tensorboard": False},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return config_from_dict(TrainConfig, data)


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


# (section overrides, steps): the full method runs two steps, each ablation one
MODES = {
    "stepcoder": ({}, 2),
    "no-cccs": ({"curriculum": {"start_stage": 0}}, 1),
    "no-fgo": ({"fgo": {"enabled": False}}, 1),
    "group": ({"ppo": {"advantage": "group", "whiten_advantages": False}}, 1),
    # PPO-ptx (a supervised loss on demonstrations) with dynamic sampling (2x the problems)
    "ptx-oversample": ({"ppo": {"ptx_coef": 0.5, "ptx_batch_size": 3, "oversample": 2}}, 1),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_ppo_modes_run_log_and_checkpoint(tmp_path, mode):
    from stepcoder.trainer.ppo import PPOTrainer

    sections, steps = MODES[mode]
    trainer = PPOTrainer(tiny_config(tmp_path, **sections, training={"steps": steps}))
    assert (trainer.critic is None) == (mode == "group")  # group mode loads no critic
    trainer.train()
    metrics = read_metrics(tmp_path)
    assert [m["step"] for m in metrics] == list(range(1, steps + 1))
    keys = REQUIRED + (CRITIC_KEYS if mode != "group" else [])
    for m in metrics:
        assert not [k for k in keys if k not in m], m
        assert math.isfinite(m["policy/loss"]) and math.isfinite(m.get("value/loss", 0.0))
        verdicts = sum(m[f"verdict/{v}"] for v in ("PASS", "WRONG_ANSWER", "RUNTIME_ERROR", "TIMEOUT",
                                                    "MEMORY_LIMIT", "COMPILE_ERROR"))
        assert verdicts == 2 * 2 * trainer.cfg.ppo.oversample  # problems_per_step x n x oversample
        assert ("policy/ptx_loss" in m) == (trainer.cfg.ppo.ptx_coef > 0)
        assert m["groups/trained_mixed_frac"] in (0.0, 0.5, 1.0)  # of the 2 trained problems
    if mode in ("no-fgo",):
        assert all(m["fgo/masked_fraction"] == 0.0 for m in metrics)
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert samples and set(samples[0]) >= {"step", "problem_id", "stage", "prefix", "completion", "verdict",
                                           "reward", "fgo_masked_fraction"}
    for s in samples:  # the per-token FGO mask is logged and agrees with the masked fraction
        assert len(s["completion_tokens"]) == len(s["fgo_mask"]) > 0 and set(s["fgo_mask"]) <= {0, 1}
        assert 1 - sum(s["fgo_mask"]) / len(s["fgo_mask"]) == pytest.approx(s["fgo_masked_fraction"], abs=1e-4)
        assert s["completion"] in "".join(s["completion_tokens"]) or s["completion"] == ""
    assert (tmp_path / "checkpoints" / f"step-{steps:06d}" / "state.json").is_file()
    assert (tmp_path / "policy" / "config.json").is_file()
    assert (tmp_path / "config.yaml").is_file()
    if mode == "no-cccs":
        assert all(m["curriculum/mean_prefix_fraction"] == 0.0 for m in metrics)


def test_resume_equals_uninterrupted(tmp_path):
    from stepcoder.trainer.ppo import PPOTrainer

    whole, split = tmp_path / "whole", tmp_path / "split"
    PPOTrainer(tiny_config(whole, training={"steps": 4})).train()
    PPOTrainer(tiny_config(split, training={"steps": 2})).train()
    PPOTrainer(tiny_config(split, training={"steps": 4})).train(resume=True)

    def stable(rows):  # wall-clock figures differ between any two runs
        return [{k: v for k, v in r.items() if not k.startswith(("time/", "perf/"))} for r in rows]

    a, b = stable(read_metrics(whole)), stable(read_metrics(split))
    assert [r["step"] for r in b] == [1, 2, 3, 4]
    assert a == b
    assert (whole / "samples.jsonl").read_text() == (split / "samples.jsonl").read_text()
