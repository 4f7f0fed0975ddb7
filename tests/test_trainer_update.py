"""The PPO update loop: gradient accumulation invariance, scheduling, packing."""

from __future__ import annotations

import copy

import pytest
import torch

from stepcoder.rl import RolloutBatch
from stepcoder.trainer.packing import pack, scatter_completion_values
from stepcoder.trainer.schedule import lr_factor
from stepcoder.trainer.update import Learner, UpdateSettings, run_update, split_micro

VOCAB = 11


class ToyLM(torch.nn.Module):
    """Embedding + GRU + head: causal, so padding after a token cannot change its log-prob."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(VOCAB, 8)
        self.rnn = torch.nn.GRU(8, 8, batch_first=True)
        self.head = torch.nn.Linear(8, VOCAB)

    def forward(self, input_ids):
        return self.head(self.rnn(self.emb(input_ids))[0])


def toy_logprobs(model, input_ids, attention_mask, action_mask):
    logits = model(input_ids)[:, :-1]
    return torch.log_softmax(logits, -1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)


def toy_values(model, input_ids, attention_mask, action_mask):
    return model(input_ids)[:, :-1, 0]


def make_batch(seed: int = 0, rows: int = 8) -> RolloutBatch:
    gen = torch.Generator().manual_seed(seed)
    lens = torch.randint(1, 4, (rows,), generator=gen).tolist()
    clens = torch.randint(1, 6, (rows,), generator=gen).tolist()
    prompts = [torch.randint(1, VOCAB, (n,), generator=gen).tolist() for n in lens]
    completions = [torch.randint(1, VOCAB, (n,), generator=gen).tolist() for n in clens]
    packed = pack(prompts, completions, pad_id=0)
    fgo = [[int(x) for x in torch.randint(0, 2, (n,), generator=gen)] for n in clens]
    shape = packed.action_mask.shape
    return RolloutBatch(
        input_ids=packed.input_ids, attention_mask=packed.attention_mask, action_mask=packed.action_mask,
        loss_mask=packed.action_mask * scatter_completion_values(packed, fgo),
        old_logprobs=-2.0 + 0.1 * torch.randn(shape, generator=gen),
        seq_rewards=torch.zeros(rows), group_ids=torch.arange(rows),
        ref_logprobs=-2.0 + 0.1 * torch.randn(shape, generator=gen),
        values=0.1 * torch.randn(shape, generator=gen),
        advantages=torch.randn(shape, generator=gen) * packed.action_mask,
        returns=torch.randn(shape, generator=gen) * packed.action_mask,
    )


def learner(model, fn, lr=0.05):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    return Learner(model, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0), fn)


def run(minibatch: int, accum: int, kl_beta: float = 0.0):
    torch.manual_seed(0)
    policy, critic = ToyLM(), ToyLM()
    settings = UpdateSettings(epochs=1, minibatch_size=minibatch, grad_accum=accum, clip_range=0.2,
                              value_clip_range=0.2, max_grad_norm=0.0, kl_loss_beta=kl_beta)
    metrics = run_update(make_batch(), settings, learner(policy, toy_logprobs), learner(critic, toy_values),
                         torch.Generator().manual_seed(1))
    return policy, critic, metrics


@pytest.mark.parametrize("kl_beta", [0.0, 0.1])
def test_accumulation_matches_one_big_minibatch(kl_beta):
    # one optimizer step on 8 rows == the same 8 rows as 2 micro-batches of 4 or 4 of 2
    ref_policy, ref_critic, ref_metrics = run(8, 1, kl_beta)
    for accum in (2, 4):
        policy, critic, metrics = run(8, accum, kl_beta)
        for a, b in zip(ref_policy.parameters(), policy.parameters()):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
        for a, b in zip(ref_critic.parameters(), critic.parameters()):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
        assert metrics["policy/loss"] == pytest.approx(ref_metrics["policy/loss"], abs=1e-6)
        assert metrics["value/loss"] == pytest.approx(ref_metrics["value/loss"], abs=1e-6)


def test_update_moves_parameters_and_two_minibatches_step_twice():
    torch.manual_seed(0)
    before = copy.deepcopy(ToyLM().state_dict())
    policy, _, metrics = run(4, 1)
    changed = [not torch.equal(before[k], v) for k, v in policy.state_dict().items()]
    assert all(changed)
    assert set(metrics) >= {"policy/loss", "policy/clip_frac", "policy/approx_kl", "value/loss", "value/clip_frac"}


def test_split_micro_trims_padding_and_keeps_rows():
    batch = make_batch(rows=4)
    parts = split_micro(batch, 2)
    assert [len(p) for p in parts] == [2, 2]
    for part in parts:
        assert part.attention_mask[:, -1].any()  # the last column holds a real token
        assert part.old_logprobs.shape[1] == part.input_ids.shape[1] - 1


def test_pack_layout():
    packed = pack([[5, 6], [7]], [[1], [2, 3, 4]], pad_id=0)
    # P = 2 prompt columns; completion token j of every row sits at action index P - 1 + j
    assert packed.input_ids.tolist() == [[5, 6, 1, 0, 0], [0, 7, 2, 3, 4]]
    assert packed.attention_mask.tolist() == [[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]]
    assert packed.action_mask.tolist() == [[0, 1, 0, 0], [0, 1, 1, 1]]
    assert scatter_completion_values(packed, [[9.0], [1.0, 0.0, 1.0]]).tolist() == [[0, 9, 0, 0], [0, 1, 0, 1]]


def test_lr_warmup_then_cosine():
    assert lr_factor(0, 10, 2, "cosine") == pytest.approx(1 / 2)
    assert lr_factor(2, 10, 2, "cosine") == pytest.approx(1.0)
    # halfway through the 8 decay steps: 0.5 * (1 + cos(pi / 2)) = 0.5
    assert lr_factor(6, 10, 2, "cosine") == pytest.approx(0.5)
    assert lr_factor(10, 10, 2, "linear") == pytest.approx(0.0)


def test_group_advantages_are_broadcast_to_completion_tokens():
    from stepcoder.trainer.advantages import with_advantages
    from stepcoder.trainer.ppo_config import PPOConfig

    packed = pack([[5], [6]], [[1, 2], [3]], pad_id=0)
    batch = RolloutBatch(input_ids=packed.input_ids, attention_mask=packed.attention_mask,
                         action_mask=packed.action_mask, loss_mask=packed.action_mask,
                         old_logprobs=torch.zeros_like(packed.action_mask), seq_rewards=torch.tensor([1.0, -1.0]),
                         group_ids=torch.tensor([0, 0]))
    out, _ = with_advantages(batch, PPOConfig(advantage="group", whiten_advantages=False))
    # centred rewards +-1 over the group's unbiased std sqrt((1 + 1) / (2 - 1)) = sqrt(2)
    a = 1 / 2**0.5
    torch.testing.assert_close(out.advantages, torch.tensor([[a, a], [-a, 0.0]]), atol=1e-5, rtol=0)
    assert out.returns is None


def test_gae_without_reference_has_no_kl_penalty():
    from stepcoder.trainer.advantages import with_advantages
    from stepcoder.trainer.ppo_config import PPOConfig

    packed = pack([[5]], [[1, 2]], pad_id=0)
    batch = RolloutBatch(input_ids=packed.input_ids, attention_mask=packed.attention_mask,
                         action_mask=packed.action_mask, loss_mask=packed.action_mask,
                         old_logprobs=torch.tensor([[-1.0, -2.0]]), seq_rewards=torch.tensor([-0.3]),
                         group_ids=torch.tensor([0]), values=torch.zeros(1, 2))
    out, metrics = with_advantages(batch, PPOConfig(kl_beta=0.0, gamma=1.0, lam=1.0, whiten_advantages=False))
    # zero values, gamma = lambda = 1: every token's advantage is the final reward
    torch.testing.assert_close(out.advantages, torch.tensor([[-0.3, -0.3]]))
    assert metrics["kl"] == 0.0


def test_update_raises_the_likelihood_of_rewarded_completions_and_lowers_the_rest():
    """The direction of learning: one update with on-policy old log-probs (ratio 1) and
    advantage +1 on half the rows, -1 on the other half, raises the log-likelihood of the +1
    completions' loss tokens and lowers that of the -1 ones (in sum: rows share parameters,
    so one row may move with its neighbours)."""
    torch.manual_seed(0)
    policy, critic = ToyLM(), ToyLM()
    batch = make_batch(rows=8)
    sign = torch.tensor([1.0, -1.0] * 4)[:, None]
    with torch.no_grad():
        old = toy_logprobs(policy, batch.input_ids, batch.attention_mask, batch.action_mask)
    batch.old_logprobs = old * batch.action_mask
    batch.ref_logprobs = batch.old_logprobs.clone()
    batch.advantages = sign * batch.action_mask
    settings = UpdateSettings(epochs=1, minibatch_size=8, grad_accum=1, clip_range=0.2, value_clip_range=0.2,
                              max_grad_norm=0.0, kl_loss_beta=0.0)
    run_update(batch, settings, learner(policy, toy_logprobs, lr=0.01), learner(critic, toy_values),
               torch.Generator().manual_seed(1))
    with torch.no_grad():
        new = toy_logprobs(policy, batch.input_ids, batch.attention_mask, batch.action_mask)
    change = ((new - old) * batch.loss_mask).sum(-1)
    assert change[sign[:, 0] > 0].sum() > 0 > change[sign[:, 0] < 0].sum(), change
    assert (change * sign[:, 0] > 0).sum() >= 6, change  # most rows individually too


def test_ptx_adds_its_coefficient_times_the_supervised_gradient():
    """PPO-ptx: with ``ptx_coef`` c, a policy step's gradient is the PPO gradient plus c times
    the gradient of the supervised loss, in the same optimizer step (one per minibatch)."""
    batch = make_batch()
    demo = torch.tensor([[1, 4, 2, 7, 3]])

    def nll(model) -> torch.Tensor:
        return -toy_logprobs(model, demo, None, None).mean()

    def gradient(coef: float, with_ptx: bool) -> list[torch.Tensor]:
        torch.manual_seed(0)
        policy = ToyLM()
        settings = UpdateSettings(epochs=1, minibatch_size=len(batch), grad_accum=2, clip_range=0.2,
                                  value_clip_range=0.2, max_grad_norm=0.0, ptx_coef=coef)
        grads: list[torch.Tensor] = []
        opt = learner(policy, toy_logprobs)
        opt.optimizer.step = lambda: grads.extend(p.grad.clone() for p in policy.parameters())
        calls = []
        ptx = (lambda: calls.append(1) or nll(policy)) if with_ptx else None
        metrics = run_update(batch, settings, opt, None, torch.Generator().manual_seed(1), ptx=ptx)
        assert len(calls) == (1 if with_ptx and coef > 0 else 0)  # one demonstration batch per optimizer step
        assert ("policy/ptx_loss" in metrics) == bool(calls)
        return grads

    torch.manual_seed(0)
    reference = ToyLM()
    nll(reference).backward()
    supervised = [p.grad for p in reference.parameters()]
    plain = gradient(0.0, with_ptx=True)
    assert all(torch.equal(a, b) for a, b in zip(plain, gradient(0.5, with_ptx=False)))  # no demonstrations: PPO only
    for mixed, rl, sup in zip(gradient(0.5, with_ptx=True), plain, supervised, strict=True):
        torch.testing.assert_close(mixed, rl + 0.5 * sup)
