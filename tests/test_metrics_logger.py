"""Metrics logger: JSONL lines, non-finite -> null, TensorBoard events, resume truncation, wandb."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
import torch

from stepcoder.plumbing.metrics_logger import MetricsLogger


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_log_writes_flat_json_lines_and_flushes(tmp_path):
    logger = MetricsLogger(tmp_path, tensorboard=False)
    logger.log(1, {"reward_mean": torch.tensor(0.25), "verdict/PASS": np.int64(3), "kl": float("nan")})
    # flushed before close: a killed run keeps what it logged
    assert read_jsonl(tmp_path / "metrics.jsonl") == [{"step": 1, "reward_mean": 0.25, "verdict/PASS": 3, "kl": None}]
    logger.log(2, {"policy/loss": float("inf"), "stage": "cccs", "fgo": True})
    logger.close()
    assert read_jsonl(tmp_path / "metrics.jsonl")[1] == {"step": 2, "policy/loss": None, "stage": "cccs", "fgo": True}


def test_non_scalar_metric_is_an_error(tmp_path):
    with MetricsLogger(tmp_path, tensorboard=False) as logger, pytest.raises(TypeError, match="'loss'"):
        logger.log(1, {"loss": torch.ones(3)})


def test_samples_jsonl(tmp_path):
    with MetricsLogger(tmp_path, tensorboard=False) as logger:
        logger.log_samples(4, [{"problem_id": "p1", "completion": "print('é')", "verdict": "PASS", "reward": 1.0}])
    assert read_jsonl(tmp_path / "samples.jsonl") == [
        {"step": 4, "problem_id": "p1", "completion": "print('é')", "verdict": "PASS", "reward": 1.0}
    ]


def test_tensorboard_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with MetricsLogger(tmp_path, tensorboard=True) as logger:
        for step in (1, 2):
            logger.log(step, {"reward_mean": 0.5 * step, "kl": float("nan"), "stage": "x"})
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("reward_mean")] == [(1, 0.5), (2, 1.0)]
    assert "kl" not in events.Tags()["scalars"]  # null metrics are not plotted as 0


def run_steps(run_dir, steps, resume_step=None):
    with MetricsLogger(run_dir, tensorboard=False, resume_step=resume_step) as logger:
        for step in steps:
            logger.log(step, {"reward_mean": step / 10, "time/step": 1.5})
            logger.log_samples(step, [{"problem_id": f"p{step}", "completion": "x = 1"}])


def test_resume_truncates_to_equal_an_uninterrupted_run(tmp_path):
    straight, crashed = tmp_path / "straight", tmp_path / "crashed"
    run_steps(straight, range(1, 6))
    run_steps(crashed, range(1, 5))  # checkpoint at 3, killed during step 5 ...
    with open(crashed / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 5, "reward_m')  # ... mid-line
    run_steps(crashed, range(4, 6), resume_step=3)
    for name in ("metrics.jsonl", "samples.jsonl"):
        assert (crashed / name).read_text() == (straight / name).read_text()


def test_wandb_missing_gives_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb -> ImportError
    with pytest.raises(ImportError, match="wandb_project 'proj' needs wandb, which is not installed"):
        MetricsLogger(tmp_path / "run", tensorboard=False, wandb_project="proj")
    assert not (tmp_path / "run").exists()  # checked before any file is written


def test_wandb_logs_and_resumes_the_same_run(tmp_path, monkeypatch):
    calls = []

    class FakeRun:
        id = "run123"

        def log(self, data, step):
            calls.append(("log", data, step))

        def finish(self):
            calls.append(("finish",))

    def init(**kwargs):
        calls.append(("init", kwargs["project"], kwargs["id"], kwargs["resume"]))
        return FakeRun()

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    with MetricsLogger(tmp_path, tensorboard=False, wandb_project="proj") as logger:
        logger.log(1, {"reward_mean": 0.5, "stage": "x", "kl": None})
    with MetricsLogger(tmp_path, tensorboard=False, wandb_project="proj", resume_step=1):
        pass
    assert calls == [
        ("init", "proj", None, None),
        ("log", {"reward_mean": 0.5}, 1),
        ("finish",),
        ("init", "proj", "run123", "allow"),
        ("finish",),
    ]


def test_tensorboard_resume_purges_steps_after_the_checkpoint(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with MetricsLogger(tmp_path, tensorboard=True) as logger:
        for step in (1, 2, 3, 4):
            logger.log(step, {"reward_mean": float(step)})
    with MetricsLogger(tmp_path, tensorboard=True, resume_step=2) as logger:
        for step in (3, 4):
            logger.log(step, {"reward_mean": 10.0 * step})
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("reward_mean")] == [(1, 1.0), (2, 2.0), (3, 30.0), (4, 40.0)]
