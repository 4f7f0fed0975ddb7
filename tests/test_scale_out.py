"""Scale-out that is real: two CPU processes under torchrun stay in sync (policy, critic and
curriculum) and a 2-process run resumes to the same state as an uninterrupted one; an
``accelerate launch --cpu`` that would quietly run one process fails, naming the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from stepcoder.plumbing.distributed import LaunchError, check_launch

# Each rank: run A trains 2 steps; run B trains 1 step, then a new trainer resumes it to step 2.
WORKER = textwrap.dedent('''
    import hashlib, json, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_trainer_ppo import tiny_config
    import torch
    from stepcoder.plumbing.distributed import unwrap
    from stepcoder.trainer.ppo import PPOTrainer

    out = Path(sys.argv[1])
    training = {{"problems_per_step": 4, "save_every": 1}}


    def state(trainer):
        digest = {{"world": trainer.acc.num_processes}}
        for name, learner in (("policy", trainer.policy), ("critic", trainer.critic)):
            params = [p.detach().double() for p in unwrap(learner.model, trainer.acc).parameters()]
            digest[name] = hashlib.sha256(b"".join(p.numpy().tobytes() for p in params)).hexdigest()
        digest["curriculum"] = hashlib.sha256(json.dumps(trainer.curriculum.state_dict(), sort_keys=True).encode()).hexdigest()
        return digest


    a = PPOTrainer(tiny_config(out / "a", training={{**training, "steps": 2}}))
    a.train()
    PPOTrainer(tiny_config(out / "b", training={{**training, "steps": 1}})).train()
    b = PPOTrainer(tiny_config(out / "b", training={{**training, "steps": 2}}))
    b.train(resume=True)
    result = {{"a": state(a), "b": state(b), "resumed_from": b.start_step}}
    (out / f"rank{{a.acc.process_index}}.json").write_text(json.dumps(result))
''')


def test_check_launch_spots_accelerates_single_cpu_process():
    accelerate_cpu_two = {"ACCELERATE_USE_CPU": "True", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    with pytest.raises(LaunchError, match="torchrun --nproc_per_node 2"):
        check_launch(accelerate_cpu_two)
    check_launch({**accelerate_cpu_two, "WORLD_SIZE": "2", "RANK": "0"})  # torchrun / a real launcher
    check_launch({"ACCELERATE_USE_CPU": "True"})  # accelerate launch --cpu, one process asked for
    check_launch({})  # plain python


@pytest.mark.slow
def test_accelerate_launch_two_cpu_processes_fails_with_the_fix(tmp_path):
    accelerate = os.path.join(os.path.dirname(sys.executable), "accelerate")
    if not os.path.exists(accelerate):
        pytest.skip("accelerate's launcher is not installed")
    run = tmp_path / "run"
    proc = subprocess.run([accelerate, "launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
                           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "stepcoder", "train",
                           "--config", "tiny", "--output-dir", str(run)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode != 0
    assert "stepcoder train: error: accelerate launch --cpu asked for several processes" in proc.stderr
    assert "torchrun --nproc_per_node 2 -m stepcoder train" in proc.stderr
    assert not run.exists()


@pytest.mark.slow
def test_two_processes_stay_in_sync_and_resume_exactly(tmp_path):
    from test_ddp import TORCHRUN, torchrun_two

    if not os.path.exists(TORCHRUN):
        pytest.skip("torchrun not installed")
    from stepcoder.models import resolve_model_path

    resolve_model_path("tiny")  # build the cached tiny model once, before two processes want it
    torchrun_two(WORKER.format(tests=os.path.dirname(__file__)), tmp_path, tmp_path)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["a"]["world"] == r1["a"]["world"] == 2
    for run in ("a", "b"):  # both ranks hold the same policy, critic and curriculum
        assert r0[run] == r1[run]
    assert r0["resumed_from"] == 1
    assert r0["b"] == r0["a"]  # 1 step + resume == 2 uninterrupted steps
    for run in ("a", "b"):  # one metrics line per step, written once (rank 0)
        steps = [json.loads(line)["step"] for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        assert steps == [1, 2]
