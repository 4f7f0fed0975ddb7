"""End-to-end smoke run of the command line: ``stepcoder sft`` then ``stepcoder train`` (from
the SFT model, then resumed), tiny sizes, real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

TINY = ["--config", "tiny", "--sampling.n", "2", "--sampling.max_new_tokens", "12", "--data.max_train_problems", "16",
        "--training.problems_per_step", "2", "--ppo.minibatch_size", "4", "--sandbox.workers", "1",
        "--training.progress_bar", "false", "--training.tensorboard", "false"]


def stepcoder(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "stepcoder", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_sft_then_train_then_resume(tmp_path):
    sft_dir, run_dir = tmp_path / "sft", tmp_path / "run"
    out = stepcoder("sft", *TINY, "--output-dir", str(sft_dir), "--sft.epochs", "1", "--sft.batch_size", "8")
    assert "model saved to" in out.stdout and (sft_dir / "config.json").is_file()
    common = [*TINY, "--model.name_or_path", str(sft_dir), "--output-dir", str(run_dir), "--training.save_every", "1"]
    stepcoder("train", *common, "--training.steps", "1", "--no-cccs")
    out = stepcoder("train", *common, "--training.steps", "2", "--no-cccs", "--resume")
    assert "PPO done: step 2" in out.stdout
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2]
    assert (run_dir / "checkpoints" / "step-000002").is_dir() and (run_dir / "policy" / "config.json").is_file()


def test_bad_flag_value_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stepcoder", "train", "--config", "tiny", "--ppo.advantage", "group",
                           "--sampling.n", "1", "--ppo.minibatch_size", "8", "--output-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "sampling.n >= 2" in proc.stderr


def test_user_error_exits_2_without_traceback(tmp_path):
    missing = tmp_path / "no-such-model"
    proc = subprocess.run([sys.executable, "-m", "stepcoder", "train", "--config", "tiny", "--model.name_or_path",
                           str(missing), "--output-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"stepcoder train: error: model.name_or_path '{missing}'")
    assert not (tmp_path / "run").exists()


def test_demo_prints_the_paired_gain_and_resumes(tmp_path):
    """The main job end to end with tiny sizes, as `make demo` runs it (RL from the shipped
    warm start, no SFT): the headline lines, the report, and --resume that finds every stage
    done and redoes none."""
    import re

    out = tmp_path / "demo"
    small = [*TINY, "--output-dir", str(out), "--training.steps", "1", "--data.max_heldout_problems", "6"]
    text = stepcoder("demo", *small, timeout=900).stdout
    assert "warm start tiny-sft (no SFT" in text and not (out / "sft").exists()
    assert "held-out problems: 6" in text
    assert re.search(r"held-out pass@1: \d\.\d{3} -> \d\.\d{3} \([+-]\d+\.\d, 95% CI \[-?\d+\.\d, -?\d+\.\d\]\)", text)
    assert "out-of-family pass@1" in text
    assert (out / "report.md").exists() and (out / "ppo" / "report.md").exists()
    # the first 6 held-out problems are one family (mul): a one-group view would only repeat the
    # headline, so the report leaves it out (test_demo_report.py covers the view itself)
    assert "### Held-out pass@1 per group" not in (out / "report.md").read_text()
    assert not (out / "plots" / "heldout_by_group.png").exists()
    policy = (out / "ppo" / "policy" / "model.safetensors").stat().st_mtime_ns
    assert "held-out problems: 6" in stepcoder("demo", *small, "--resume", timeout=900).stdout
    assert (out / "ppo" / "policy" / "model.safetensors").stat().st_mtime_ns == policy  # nothing redone


def test_ablate_writes_the_results_page_and_resumes(tmp_path):
    """`stepcoder ablate` end to end with tiny sizes (two variants, two seeds): the results page
    with its plot, and --resume that redoes nothing."""
    out, page = tmp_path / "ablation", tmp_path / "docs" / "results.md"
    # from scratch: SFT of the random-init tiny model per seed, then RL
    small = [*TINY, "--output-dir", str(out), "--model.name_or_path", "tiny", "--sft.epochs", "1", "--sft.batch_size", "8",
             "--training.steps", "1", "--data.max_heldout_problems", "4", "--seeds", "0", "1", "--variants", "sft", "stepcoder",
             "--results", str(page)]
    stepcoder("ablate", *small, timeout=900)
    text = page.read_text()
    assert "| SFT only |" in text and "| StepCoder |" in text and "StepCoder − SFT only" in text
    assert (tmp_path / "docs" / "img" / "ablation.png").stat().st_size > 0
    results = json.loads((out / "results.json").read_text())
    assert sorted(results["variants"]["StepCoder"]["seeds"]) == ["0", "1"]
    policy = out / "seed-1" / "stepcoder" / "ppo" / "policy" / "model.safetensors"
    before = policy.stat().st_mtime_ns
    stepcoder("ablate", *small, "--resume", timeout=900)
    assert policy.stat().st_mtime_ns == before
