"""Shared helpers of the benchmark scripts: one configuration per child process (so that
peak memory never mixes), our trainer's step loop, markdown tables, the machine line.

A benchmark script runs itself as a child with ``--child`` and a JSON spec; the child prints
one ``RESULT {json}`` line, which the parent collects.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Sequence

RESULT_TAG = "RESULT "


# --- processes ----------------------------------------------------------------------------

def run_child(script: str, spec: dict[str, Any], timeout_s: float = 1800) -> dict[str, Any]:
    """Run ``script --child SPEC`` in a fresh interpreter and return its RESULT dict
    (``{"error": ...}`` when it failed, so one broken side does not hide the others)."""
    cmd = [sys.executable, script, "--child", json.dumps(spec)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def emit(result: dict[str, Any]) -> None:
    """Print the child's result line, with its own peak resident memory added."""
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(RESULT_TAG + json.dumps(result), flush=True)


def workload_parser(doc: str | None, training: bool) -> argparse.ArgumentParser:
    """The flags every comparison shares: the workload (model, problems, rollouts, tokens),
    with ``training`` the RL-step sizes too, and ``--output``."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny")
    p.add_argument("--data", default="tiny", help="training problems ('tiny' = the bundled tiny train split)")
    p.add_argument("--format", default=None)
    p.add_argument("--problems", type=int, default=4, help="prompts per RL step")
    p.add_argument("--n", type=int, default=4, help="rollouts per prompt")
    p.add_argument("--max-new-tokens", type=int, default=64)
    if training:
        p.add_argument("--child", default=None, help=argparse.SUPPRESS)
        p.add_argument("--minibatch", type=int, default=8, help="rollouts per optimizer step")
        p.add_argument("--steps", type=int, default=4, help="RL steps per configuration (the first is reported apart)")
        p.add_argument("--lora-r", type=int, default=0)
    p.add_argument("--output", default=None, help="also append the markdown to this file")
    return p


def publish(text: str, output: str | None) -> None:
    """Print a result table and, when asked, append it to ``output``."""
    print(text)
    if output:
        with open(output, "a", encoding="utf-8") as f:
            f.write(text + "\n\n")


def peak_rss_mb() -> float:
    """Peak RSS of this process (Linux reports ru_maxrss in KiB); sandbox workers are
    separate processes and are not included."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quiet_logs() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


# --- reporting ----------------------------------------------------------------------------

def machine_line() -> str:
    import torch

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores visible, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table; floats get 3 significant decimals."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def steady(values: Sequence[float]) -> float:
    """Median of the steps after the first (the first pays one-off warm-up); the only value
    when there is one."""
    rest = list(values[1:]) or list(values)
    return statistics.median(rest)


# --- our trainer --------------------------------------------------------------------------

def our_config(spec: dict[str, Any]):
    """A TrainConfig for one benchmark side: the ``tiny-group`` preset's shape with the
    spec's model, data and sizes; no checkpoints, no TensorBoard, no progress bar."""
    from stepcoder.config import config_from_dict

    from stepcoder.trainer.config import TrainConfig

    rollouts = spec["problems"] * spec["n"]
    data = {
        "model": {"name_or_path": spec["model"], "lora_r": spec.get("lora_r", 0),
                  "lora_alpha": 2.0 * max(spec.get("lora_r", 0), 1)},
        "sampling": {"n": spec["n"], "max_new_tokens": spec["max_new_tokens"], "batch_size": rollouts,
                     "temperature": 0.8, "top_p": 0.9},
        "prompt": {"template": "plain"},
        "curriculum": {"start_stage": 0 if not spec.get("cccs", False) else "auto"},
        "fgo": {"enabled": spec.get("fgo", True)},
        "sandbox": {"timeout_s": 2.0, "workers": 2, "coverage": spec.get("fgo", True), "preload": []},
        "ppo": {"advantage": spec["advantage"], "minibatch_size": spec["minibatch"], "grad_accum": 1,
                "ppo_epochs": 1, "policy_lr": 1e-5, "critic_lr": 1e-4, "kl_beta": spec.get("beta", 0.05),
                "whiten_advantages": spec["advantage"] == "gae"},
        "data": {"train_path": spec["train_path"], "heldout_path": spec["train_path"],
                 "format": spec.get("format")},
        "training": {"steps": spec["steps"], "problems_per_step": spec["problems"], "save_every": 0,
                     "tensorboard": False, "progress_bar": False, "cpu": True, "seed": spec.get("seed", 0),
                     "output_dir": spec.get("output_dir", "runs/bench")},
    }
    return config_from_dict(TrainConfig, data, source="benchmark spec")


def run_ours(spec: dict[str, Any]) -> dict[str, Any]:
    """Our PPOTrainer's steps (no checkpoint, no logging files): wall seconds per step and
    the trainer's own ``time/*`` phase timings of each step."""
    from stepcoder.sandbox import Sandbox
    from stepcoder.trainer.ppo import PPOTrainer

    cfg = our_config(spec)
    t0 = time.perf_counter()
    trainer = PPOTrainer(cfg)
    load_s = time.perf_counter() - t0
    step_s, phases, tokens, rewards = [], [], [], []
    with Sandbox(cfg.sandbox) as sandbox:
        for step in range(1, spec["steps"] + 1):
            t = time.perf_counter()
            metrics, _ = trainer.train_step(step, sandbox)
            step_s.append(time.perf_counter() - t)
            phases.append({k: v for k, v in metrics.items() if k.startswith("time/")})
            tokens.append(metrics["completion/mean_tokens"] * spec["problems"] * spec["n"])
            rewards.append(metrics["reward_mean"])
    return {"load_s": load_s, "step_s": step_s, "phases": phases, "tokens": tokens, "rewards": rewards}
