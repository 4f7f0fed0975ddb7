"""Data parallel on CPU: ``torchrun --nproc_per_node 2`` (gloo) of the PPO trainer; each rank
samples different problems, yet gradients are all-reduced, so both end with equal weights; and
the PPO update of 2 processes on half a batch each equals 1 process on the whole batch."""

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
    from stepcoder.plumbing.distributed import unwrap
    from stepcoder.trainer.ppo import PPOTrainer

    run_dir = Path(sys.argv[1])
    trainer = PPOTrainer(tiny_config(run_dir, training={{"steps": 2, "problems_per_step": 4, "save_every": 0}},
                                     ppo={{"oversample": 2}}))  # dynamic sampling: same batch size on every rank
    before = {{n: p.detach().clone() for n, p in unwrap(trainer.policy.model, trainer.acc).named_parameters()}}
    problems = [p.id for p in trainer.problems_for_step(1)[0]]
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


TORCHRUN = os.path.join(os.path.dirname(sys.executable), "torchrun")
needs_torchrun = pytest.mark.skipif(shutil.which("torchrun") is None and not os.path.exists(TORCHRUN),
                                    reason="torchrun not installed")


def torchrun_two(worker: str, tmp_path, *args) -> None:
    """Run ``worker`` (Python source) in 2 CPU processes under torchrun; fail with its errors."""
    script = tmp_path / "worker.py"
    script.write_text(worker)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([TORCHRUN, "--standalone", "--nproc_per_node", "2", str(script), *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, "\n".join(l for l in proc.stderr.splitlines() if "Error" in l or "error" in l)[-4000:]


@needs_torchrun
def test_two_processes_end_with_identical_parameters(tmp_path):
    from stepcoder.models import resolve_model_path

    resolve_model_path("tiny")  # build the cached tiny model once, before two processes want it
    torchrun_two(WORKER.format(tests=os.path.dirname(__file__)), tmp_path, tmp_path / "run")
    r0, r1 = (json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert set(r0["problems"]).isdisjoint(r1["problems"])  # each rank sampled its own share
    assert r0["moved"] > 0  # the update changed the weights
    assert r0["policy"] == r1["policy"] and r0["critic"] == r1["critic"]
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    # one line per step, written by rank 0, counting every sampled rollout of both ranks
    # (4 problems x oversample 2 x n=2), of which each rank trained on 2 problems' rollouts
    assert [m["step"] for m in metrics] == [1, 2]
    assert all(sum(v for k, v in m.items() if k.startswith("verdict/")) == 16 for m in metrics)
    assert all(0.0 <= m["groups/trained_mixed_frac"] <= 1.0 for m in metrics)


# One fixed batch of 8 rows. Rank 0's half (rows 0-3, the contiguous share a real step gives it,
# distributed.shard) holds long completions, all in the loss: 9 + 8 + 7 + 9 = 33 loss tokens;
# rank 1's half holds short ones partly masked by FGO: 1 + 2 + 1 + 1 = 5. Averaging per-rank
# token-means would weight a rank-1 token 33/5 times a rank-0 token; the global token-mean
# weights them equally. SGD (not Adam, whose first step is nearly sign(g)) shows any
# difference of gradients in the weights; grad clipping is active (norms > 1).
EQUIVALENCE_WORKER = textwrap.dedent('''
    import copy, json, sys
    from pathlib import Path
    import torch
    from stepcoder.models import load_critic, load_policy
    from stepcoder.models.config import ModelConfig
    from stepcoder.rl import RolloutBatch
    from stepcoder.plumbing.distributed import make_accelerator, unwrap
    from stepcoder.trainer.forward import critic_forward, fill_forward_passes, policy_logprobs
    from stepcoder.trainer.packing import pack, scatter_completion_values
    from stepcoder.trainer.update import Learner, UpdateSettings, run_update

    COMPLETION_LENS = [9, 8, 7, 9, 2, 3, 1, 2]
    FGO = [[1] * n for n in COMPLETION_LENS[:4]] + [[1, 0], [0, 1, 1], [1], [0, 1]]


    def make_batch(policy, critic):
        gen = torch.Generator().manual_seed(0)
        vocab = policy.config.vocab_size
        prompts = [torch.randint(3, vocab, (2 + i % 3,), generator=gen).tolist() for i in range(8)]
        completions = [torch.randint(3, vocab, (n,), generator=gen).tolist() for n in COMPLETION_LENS]
        packed = pack(prompts, completions, pad_id=0)
        mask = packed.action_mask
        batch = RolloutBatch(input_ids=packed.input_ids, attention_mask=packed.attention_mask, action_mask=mask,
                             loss_mask=mask * scatter_completion_values(packed, FGO), old_logprobs=torch.zeros(mask.shape),
                             seq_rewards=torch.zeros(8), group_ids=torch.arange(8))
        batch = fill_forward_passes(batch, policy, None, critic, 1.0, 2)[0]  # old log-probs and values
        batch.old_logprobs = batch.old_logprobs + 0.3 * torch.randn(mask.shape, generator=gen) * mask  # ratios != 1
        batch.advantages = torch.randn(mask.shape, generator=gen) * mask
        batch.returns = torch.randn(mask.shape, generator=gen) * mask
        return batch


    def learners(policy, critic, acc):
        out = []
        for model, forward in ((policy, policy_logprobs(1.0)), (critic, critic_forward)):
            opt = torch.optim.SGD(model.parameters(), lr=0.5)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
            if acc is not None:
                model, opt = acc.prepare(model, opt)
            out.append(Learner(model, opt, sched, forward))
        return out


    def settings(rows, accum):  # 2 epochs: the second starts from updated weights, ratios != 1
        return UpdateSettings(epochs=2, minibatch_size=rows, grad_accum=accum, clip_range=0.2,
                              value_clip_range=0.2, max_grad_norm=1.0)


    def weights(model, acc=None):
        return [p.detach().clone() for p in unwrap(model, acc).parameters()]


    def max_diff(a, b):
        return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


    acc = make_accelerator(cpu=True)
    torch.manual_seed(0)
    cfg = ModelConfig(name_or_path="tiny")
    policy = load_policy(cfg)
    critic = load_critic(cfg, policy)
    batch = make_batch(policy, critic)
    single = copy.deepcopy((policy, critic))  # same start, never prepared: the 1-process run
    before = [weights(policy), weights(critic)]
    world, rank = acc.num_processes, acc.process_index
    per = len(batch) // world
    local = batch.select(list(range(rank * per, (rank + 1) * per)))
    # 2 processes: minibatch = the process's 4 rows, 2 micro-batches of 2 rows each
    dp = learners(policy, critic, acc)
    metrics = run_update(local, settings(per, 2), *dp, torch.Generator().manual_seed(rank), acc)
    out = {"world": world, "loss_tokens": float(local.loss_mask.sum()), "metrics": metrics}
    if rank == 0:
        # 1 process: the same global minibatch (8 rows), micro-batches of 2 rows as above
        ref = learners(*single, None)
        out["single_metrics"] = run_update(batch, settings(len(batch), 2 * world), *ref, torch.Generator().manual_seed(0))
        for name, i in (("policy", 0), ("critic", 1)):
            out[name + "_diff"] = max_diff(weights(dp[i].model, acc), weights(ref[i].model))
            out[name + "_moved"] = max_diff(weights(ref[i].model), before[i])
    Path(sys.argv[1], f"rank{rank}.json").write_text(json.dumps(out))
''')


@needs_torchrun
def test_two_processes_update_equals_one_process_on_the_global_batch(tmp_path):
    from stepcoder.models import resolve_model_path

    resolve_model_path("tiny")
    torchrun_two(EQUIVALENCE_WORKER, tmp_path, tmp_path)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == 2
    assert (r0["loss_tokens"], r1["loss_tokens"]) == (9 + 8 + 7 + 9, 1 + 2 + 1 + 1)
    assert r0["policy_moved"] > 1e-3 and r0["critic_moved"] > 1e-3  # the comparison is not vacuous
    assert r0["policy_diff"] < 1e-5 and r0["critic_diff"] < 1e-5
    # each process's metrics are scaled so that their mean is the global token-mean
    for key, value in r0["single_metrics"].items():
        assert (r0["metrics"][key] + r1["metrics"][key]) / 2 == pytest.approx(value, abs=1e-5), key
