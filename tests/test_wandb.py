"""Experiment tracking with wandb (extra ``stepcoder[wandb]``), offline: the metrics logger
writes a wandb run beside metrics.jsonl, and a resumed run continues the same wandb run."""

from __future__ import annotations

import json

import pytest

from stepcoder.plumbing.metrics_logger import WANDB_ID_FILE, MetricsLogger


@pytest.fixture
def offline_wandb(monkeypatch, tmp_path):
    pytest.importorskip("wandb", reason="wandb is not installed (pip install 'stepcoder[wandb]')")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))


def test_offline_run_files_exist(offline_wandb, tmp_path):
    run_dir = tmp_path / "run"
    with MetricsLogger(run_dir, tensorboard=False, wandb_project="stepcoder-test") as log:
        log.log(1, {"reward_mean": 0.5, "pass_rate": 0.25})
        log.log(2, {"reward_mean": 0.75, "pass_rate": 0.5})
    run_id = (run_dir / WANDB_ID_FILE).read_text().strip()
    runs = list((run_dir / "wandb").glob(f"offline-run-*-{run_id}"))
    assert len(runs) == 1, list((run_dir / "wandb").iterdir())
    assert (runs[0] / f"run-{run_id}.wandb").stat().st_size > 0  # the logged history, for `wandb sync`
    assert [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_resume_continues_the_same_wandb_run(offline_wandb, tmp_path):
    run_dir = tmp_path / "run"
    with MetricsLogger(run_dir, tensorboard=False, wandb_project="stepcoder-test") as log:
        log.log(1, {"reward_mean": 0.5})
    first = (run_dir / WANDB_ID_FILE).read_text()
    with MetricsLogger(run_dir, tensorboard=False, wandb_project="stepcoder-test", resume_step=1) as log:
        log.log(2, {"reward_mean": 0.6})
    assert (run_dir / WANDB_ID_FILE).read_text() == first
