"""Data parallel on CPU: ``torchrun --nproc_per_node 2`` (gloo) of the PPO trainer; each rank
samples different problems, yet gradients are all-reduced, so both end with equal weights."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

WORKER = textwrap.dedent('''
    import hashlib, json, sys
    import torch
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from test_trainer_ppo import tiny_config
    from stepcoder.trainer.distributed import unwrap
    from stepcoder.trainer.ppo import PPOTrainer

    run_dir = Path(sys.argv[1])
    trainer = PPOTrainer(tiny_config(run_dir, training={{"steps": 2, "problems_per_step": 4, "save_every": 0}}))
    before = {{n: p.detach().clone() for n, p in unwrap(trainer.policy.model, trainer.acc).named_parameters()}}
    problems = [p.id for p in trainer.problems_for_step(1)]
    trainer.train()
    rank = trainer.acc.process_index
    out = {{"world": trainer.acc.num_processes, "problems": problems}}
    for name, learner in (("policy", trainer.policy), ("critic", trainer.critic)):
        params = [p.detach().double() for p in unwrap(learner.model, trainer.acc).parameters()]
        out[name] = hashlib.sha256(b"".join(p.numpy().tobytes() for p in params)).hexdigest()
    out["moved"] = max(float((p - before[n]).abs().max())
                       for n, p in unwrap(trainer.policy.model, trainer.acc).named_parameters())
    (run_dir / f"rank{{rank}}.json").write_text(json.dumps(out))
''')


@pytest.mark.skipif(shutil.which("torchrun") is None and not os.path.exists(os.path.join(os.path.dirname(sys.executable), "torchrun")),
                    reason="torchrun not installed")
def test_two_processes_end_with_identical_parameters(tmp_path):
    from stepcoder.models import resolve_model_path

    resolve_model_path("tiny")  # build the cached tiny model once, before two processes want it
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=os.path.dirname(__file__)))
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", str(script), str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, "\n".join(l for l in proc.stderr.splitlines() if "Error" in l or "error" in l)[-4000:]
    r0, r1 = (json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert set(r0["problems"]).isdisjoint(r1["problems"])  # each rank sampled its own share
    assert r0["moved"] > 0  # the update changed the weights
    assert r0["policy"] == r1["policy"] and r0["critic"] == r1["critic"]
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    # one line per step, written by rank 0, counting the rollouts of both ranks (4 problems x n=2)
    assert [m["step"] for m in metrics] == [1, 2]
    assert all(sum(v for k, v in m.items() if k.startswith("verdict/")) == 8 for m in metrics)
