"""RL core: rewards, KL-penalised rewards, k3 KL, GAE, PPO losses, GRPO advantages, the batch.

Expected values are written as arithmetic a reader can check; property tests put garbage
where the mask is 0 and assert nothing changes (verl test_core_algos_on_cpu.py style).
"""

from __future__ import annotations

import doctest
import math

import pytest
import torch

import stepcoder.rl.rewards as rewards_module
from stepcoder.rl import (
    RewardConfig,
    RolloutBatch,
    broadcast_to_tokens,
    compute_gae,
    compute_gae_naive,
    explained_variance,
    group_relative_advantages,
    kl_k3,
    kl_penalized_rewards,
    policy_loss,
    value_loss,
    verdict_reward,
)
from stepcoder.sandbox.result import Verdict

GARBAGE = 1e6


def random_case(seed: int, B: int = 5, T: int = 9):
    """Random tensors and a random 0/1 mask with at least one 1 per row."""
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(B, T, generator=g) > 0.35).float()
    mask[torch.arange(B), torch.randint(0, T, (B,), generator=g)] = 1.0
    tensors = [torch.randn(B, T, generator=g) for _ in range(4)]
    return g, mask, tensors


def dirty(x: torch.Tensor, mask: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1000 + seed)
    noise = GARBAGE * (torch.rand(x.shape, generator=g) - 0.5)
    return torch.where(mask == 0, noise, x)


# --- rewards ---------------------------------------------------------------------------


def test_rewards_doctest():
    assert doctest.testmod(rewards_module).failed == 0


def test_verdict_rewards_match_paper_eq3():
    expected = {
        Verdict.PASS: 1.0,
        Verdict.WRONG_ANSWER: -0.3,
        Verdict.RUNTIME_ERROR: -0.6,
        Verdict.TIMEOUT: -0.6,
        Verdict.MEMORY_LIMIT: -0.6,
        Verdict.COMPILE_ERROR: -1.0,
    }
    assert {v: verdict_reward(v) for v in Verdict} == expected  # the sandbox's enum, by its value
    assert {v.value: verdict_reward(v.value) for v in Verdict} == {v.value: r for v, r in expected.items()}
    assert verdict_reward(Verdict.TIMEOUT, RewardConfig(runtime_error=-0.5)) == -0.5
    with pytest.raises(ValueError, match="unknown verdict"):
        verdict_reward("NOT_A_VERDICT")


def test_reward_verdict_names_are_the_sandbox_verdicts():
    # rl/ names verdicts without importing the sandbox: the two lists must not drift apart.
    assert rewards_module.VERDICT_NAMES == tuple(v.value for v in Verdict)


# --- KL-penalised rewards ----------------------------------------------------------------


def test_kl_penalized_rewards_by_hand():
    mask = torch.tensor([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    logp = torch.tensor([[9.0, -1.0, -2.0, 9.0], [-1.0, -1.0, -1.0, -1.0]])
    ref = torch.tensor([[0.0, -1.5, -1.0, 0.0], [-1.0, -2.0, -1.0, -0.5]])
    token_rewards, kl = kl_penalized_rewards(torch.tensor([1.0, -0.3]), logp, ref, mask, beta=0.1)
    beta = 0.1
    expected_kl = torch.tensor([[0.0, -1.0 + 1.5, -2.0 + 1.0, 0.0], [0.0, -1.0 + 2.0, 0.0, -1.0 + 0.5]])
    expected = torch.tensor(
        [
            [0.0, -beta * 0.5, -beta * -1.0 + 1.0, 0.0],
            [0.0, -beta * 1.0, 0.0, -beta * -0.5 - 0.3],
        ]
    )
    torch.testing.assert_close(kl, expected_kl)
    torch.testing.assert_close(token_rewards, expected)


def test_kl_penalized_rewards_row_without_completion_raises():
    mask = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="rows \\[0\\]"):
        kl_penalized_rewards(torch.zeros(2), torch.zeros(2, 2), torch.zeros(2, 2), mask, 0.05)


@pytest.mark.parametrize("seed", range(4))
def test_kl_penalized_rewards_ignore_garbage(seed):
    _, mask, (logp, ref, _, _) = random_case(seed)
    seq = torch.randn(mask.shape[0])
    clean = kl_penalized_rewards(seq, logp, ref, mask, 0.05)
    noisy = kl_penalized_rewards(seq, dirty(logp, mask, seed), dirty(ref, mask, seed + 1), mask, 0.05)
    for a, b in zip(clean, noisy):
        torch.testing.assert_close(a, b)


# --- k3 KL -----------------------------------------------------------------------------


def test_kl_k3_by_hand():
    logp = torch.tensor([[math.log(0.5), 0.0, 0.0, 9.0]])
    ref = torch.tensor([[0.0, math.log(0.5), 0.0, -9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    # exp(ref - logp) - (ref - logp) - 1 per token; the masked-out token is 0
    expected = torch.tensor([[2.0 - math.log(2.0) - 1.0, 0.5 - math.log(0.5) - 1.0, 1.0 - 0.0 - 1.0, 0.0]])
    torch.testing.assert_close(kl_k3(logp, ref, mask), expected)


@pytest.mark.parametrize("seed", range(4))
def test_kl_k3_is_non_negative_and_ignores_garbage(seed):
    _, mask, (logp, ref, _, _) = random_case(seed)
    clean = kl_k3(logp, ref, mask)
    assert (clean >= 0).all()
    torch.testing.assert_close(kl_k3(dirty(logp, mask, seed), dirty(ref, mask, seed + 1), mask), clean)
    torch.testing.assert_close(kl_k3(logp, logp, mask), torch.zeros_like(logp))


def test_kl_k3_gradient_by_hand():
    # d/dlogp [exp(ref - logp) - (ref - logp) - 1] = 1 - exp(ref - logp)
    logp = torch.tensor([[math.log(0.5), 0.0]], requires_grad=True)
    ref = torch.tensor([[0.0, 0.0]])
    kl_k3(logp, ref, torch.ones(1, 2)).sum().backward()
    torch.testing.assert_close(logp.grad, torch.tensor([[1.0 - 2.0, 1.0 - 1.0]]))


# --- GAE -------------------------------------------------------------------------------


def test_gae_by_hand_skips_masked_positions():
    mask = torch.tensor([[0.0, 1.0, 1.0, 1.0, 0.0]])
    rewards = torch.tensor([[7.0, 0.1, -0.2, 1.0, 7.0]])
    values = torch.tensor([[7.0, 0.5, 0.4, 0.3, 7.0]])
    gamma, lam = 0.9, 0.8
    a3 = 1.0 + gamma * 0.0 - 0.3  # the value after the last completion token is 0
    a2 = (-0.2 + gamma * 0.3 - 0.4) + gamma * lam * a3
    a1 = (0.1 + gamma * 0.4 - 0.5) + gamma * lam * a2
    adv, ret = compute_gae(rewards, values, mask, gamma, lam)
    torch.testing.assert_close(adv, torch.tensor([[0.0, a1, a2, a3, 0.0]]))
    torch.testing.assert_close(ret, torch.tensor([[0.0, a1 + 0.5, a2 + 0.4, a3 + 0.3, 0.0]]))


def test_gae_gamma_one_lambda_one_is_reward_to_go_minus_value():
    mask = torch.ones(1, 3)
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.2, 0.5, 0.9]])
    adv, ret = compute_gae(rewards, values, mask, 1.0, 1.0)
    torch.testing.assert_close(adv, torch.tensor([[1.0 - 0.2, 1.0 - 0.5, 1.0 - 0.9]]))
    torch.testing.assert_close(ret, torch.ones(1, 3))


@pytest.mark.parametrize("seed", range(6))
def test_gae_vectorised_equals_naive_and_ignores_garbage(seed):
    g, mask, (rewards, values, _, _) = random_case(seed, B=6, T=11)
    gamma, lam = float(torch.rand(1, generator=g)), float(torch.rand(1, generator=g))
    adv, ret = compute_gae(rewards, values, mask, gamma, lam)
    adv_naive, ret_naive = compute_gae_naive(rewards, values, mask, gamma, lam)
    torch.testing.assert_close(adv, adv_naive)
    torch.testing.assert_close(ret, ret_naive)
    adv_d, ret_d = compute_gae(dirty(rewards, mask, seed), dirty(values, mask, seed + 1), mask, gamma, lam)
    torch.testing.assert_close(adv_d, adv)
    torch.testing.assert_close(ret_d, ret)


# --- policy loss -----------------------------------------------------------------------


def policy_case():
    old = torch.zeros(1, 4)
    logp = torch.tensor([[math.log(1.5), math.log(0.5), 0.0, 3.0]])
    adv = torch.tensor([[1.0, 2.0, -1.0, 5.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    return logp, old, adv, mask


def test_policy_loss_by_hand():
    logp, old, adv, mask = policy_case()
    loss, metrics = policy_loss(logp, old, adv, mask, clip_eps=0.2)
    # token 1: ratio 1.5, A=+1 -> max(-1.5, -1.2) = -1.2 (clipped)
    # token 2: ratio 0.5, A=+2 -> max(-1.0, -0.8 * 2) = -1.0
    # token 3: ratio 1.0, A=-1 -> 1.0; token 4 is masked out
    assert loss.item() == pytest.approx((-1.2 + -1.0 + 1.0) / 3)
    assert metrics["clip_frac"].item() == pytest.approx(1 / 3)
    k3 = (1.5 - 1 - math.log(1.5)) + (0.5 - 1 - math.log(0.5)) + 0.0
    assert metrics["approx_kl"].item() == pytest.approx(k3 / 3)
    assert metrics["ratio_mean"].item() == pytest.approx((1.5 + 0.5 + 1.0) / 3)


def test_policy_loss_gradient_is_zero_off_mask_and_finite():
    logp, old, adv, mask = policy_case()
    logp = logp.clone().requires_grad_(True)
    loss, _ = policy_loss(logp, dirty(old, mask, 0), adv, mask, clip_eps=0.2)
    loss.backward()
    assert torch.isfinite(logp.grad).all()
    # token 1 is clipped (no gradient), token 4 masked; token 2: d(-2 r)/dlogp = -2 * 0.5 / 3
    torch.testing.assert_close(logp.grad, torch.tensor([[0.0, -2.0 * 0.5 / 3, 1.0 * 1.0 / 3, 0.0]]))


def test_policy_loss_all_zero_mask_is_zero():
    logp, old, adv, _ = policy_case()
    loss, metrics = policy_loss(logp, old, adv, torch.zeros(1, 4), 0.2)
    assert loss.item() == 0.0
    assert all(torch.isfinite(v) for v in metrics.values())


@pytest.mark.parametrize("seed", range(4))
def test_policy_loss_ignores_garbage(seed):
    _, mask, (logp, old, adv, _) = random_case(seed)
    logp, old = 0.1 * logp, 0.1 * old
    clean, m_clean = policy_loss(logp, old, adv, mask, 0.2)
    noisy, m_noisy = policy_loss(
        dirty(logp, mask, seed), dirty(old, mask, seed + 1), dirty(adv, mask, seed + 2), mask, 0.2
    )
    torch.testing.assert_close(noisy, clean)
    for key in m_clean:
        torch.testing.assert_close(m_noisy[key], m_clean[key])


# --- value loss ------------------------------------------------------------------------


def test_value_loss_by_hand():
    values = torch.tensor([[1.0, 0.0, 9.0]])
    old = torch.tensor([[0.5, 0.0, 9.0]])
    returns = torch.tensor([[2.0, 0.3, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    loss, metrics = value_loss(values, old, returns, mask, clip_eps=0.2)
    # token 1: v_clip = 0.5 + 0.2 = 0.7; max((1 - 2)^2, (0.7 - 2)^2) = 1.69 (clipped)
    # token 2: v_clip = v = 0; (0 - 0.3)^2 = 0.09 both ways
    assert loss.item() == pytest.approx(0.5 * (1.69 + 0.09) / 2)
    assert metrics["clip_frac"].item() == pytest.approx(1 / 2)


@pytest.mark.parametrize("seed", range(4))
def test_value_loss_ignores_garbage(seed):
    _, mask, (values, old, returns, _) = random_case(seed)
    clean, m_clean = value_loss(values, old, returns, mask, 0.2)
    noisy, m_noisy = value_loss(
        dirty(values, mask, seed), dirty(old, mask, seed + 1), dirty(returns, mask, seed + 2), mask, 0.2
    )
    torch.testing.assert_close(noisy, clean)
    for key in m_clean:
        torch.testing.assert_close(m_noisy[key], m_clean[key])


def test_explained_variance():
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    returns = torch.tensor([[1.0, 2.0, 3.0, 50.0]])
    assert explained_variance(returns, returns, mask).item() == 1.0
    constant = torch.full_like(returns, 2.0)
    assert explained_variance(constant, returns, mask).item() == pytest.approx(0.0, abs=1e-6)
    half = torch.tensor([[1.5, 2.0, 2.5, 0.0]])
    # residual (-0.5, 0, 0.5): variance (0.25 + 0 + 0.25) / 3 over variance (1 + 0 + 1) / 3
    assert explained_variance(half, returns, mask).item() == pytest.approx(1 - 0.5 / 2.0)
    flat = torch.ones(1, 4)
    assert explained_variance(flat, flat, mask).item() == 1.0
    # Var[R] = 0: 1 when the residual is constant, 0 otherwise (scikit-learn's rule)
    assert explained_variance(flat * 0, flat, mask).item() == 1.0
    assert explained_variance(torch.tensor([[0.0, 1.0, 2.0, 0.0]]), flat, mask).item() == 0.0


# --- GRPO ------------------------------------------------------------------------------


def test_group_relative_advantages_by_hand():
    rewards = torch.tensor([1.0, -0.3, 0.1, 0.1, 0.1, 5.0, 1.0, -1.0, -0.6])
    groups = torch.tensor([0, 0, 1, 1, 1, 2, 3, 3, 3])
    adv = group_relative_advantages(rewards, groups, eps=0.0)
    mean0 = (1.0 - 0.3) / 2
    std0 = math.sqrt(((1.0 - mean0) ** 2 + (-0.3 - mean0) ** 2) / (2 - 1))
    mean3 = (1.0 - 1.0 - 0.6) / 3
    std3 = math.sqrt(sum((r - mean3) ** 2 for r in (1.0, -1.0, -0.6)) / (3 - 1))
    expected = [
        (1.0 - mean0) / std0,
        (-0.3 - mean0) / std0,
        0.0, 0.0, 0.0,  # all equal: exactly 0
        0.0,  # a group of one
        (1.0 - mean3) / std3,
        (-1.0 - mean3) / std3,
        (-0.6 - mean3) / std3,
    ]  # fmt: skip
    torch.testing.assert_close(adv, torch.tensor(expected))
    assert adv[2:6].eq(0).all()
    centred = group_relative_advantages(rewards, groups, scale="none")
    assert centred[0].item() == pytest.approx(1.0 - mean0)
    with pytest.raises(ValueError, match="scale"):
        group_relative_advantages(rewards, groups, scale="max")  # type: ignore[arg-type]


def test_broadcast_to_tokens():
    mask = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    out = broadcast_to_tokens(torch.tensor([2.0, -1.0]), mask)
    torch.testing.assert_close(out, torch.tensor([[0.0, 2.0, 2.0], [-1.0, 0.0, 0.0]]))


# --- batch -----------------------------------------------------------------------------


def make_batch(B: int = 5, T: int = 6) -> RolloutBatch:
    token = torch.arange(B * (T - 1), dtype=torch.float32).view(B, T - 1)
    return RolloutBatch(
        input_ids=torch.arange(B * T).view(B, T),
        attention_mask=torch.ones(B, T, dtype=torch.long),
        action_mask=torch.ones(B, T - 1),
        loss_mask=torch.ones(B, T - 1),
        old_logprobs=token,
        seq_rewards=torch.arange(B, dtype=torch.float32),
        group_ids=torch.arange(B) // 2,
        advantages=-token,
    )


def test_batch_select_minibatches_and_to():
    batch = make_batch()
    assert len(batch) == 5
    picked = batch.select([3, 1])
    torch.testing.assert_close(picked.seq_rewards, torch.tensor([3.0, 1.0]))
    torch.testing.assert_close(picked.advantages, -batch.old_logprobs[[3, 1]])
    assert picked.values is None
    minis = list(batch.minibatches(2, torch.Generator().manual_seed(0)))
    assert [len(m) for m in minis] == [2, 2, 1]
    seen = torch.cat([m.seq_rewards for m in minis])
    assert sorted(seen.tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0]
    again = torch.cat([m.seq_rewards for m in batch.minibatches(2, torch.Generator().manual_seed(0))])
    assert torch.equal(seen, again)
    for m in minis:  # rows stay together across fields
        torch.testing.assert_close(m.old_logprobs[:, 0], m.seq_rewards * 5)
    assert batch.to("cpu").input_ids.device.type == "cpu"


def test_batch_rejects_misaligned_per_token_tensor():
    batch = make_batch()
    with pytest.raises(ValueError, match="aligned with input_ids"):
        RolloutBatch(**{**batch.__dict__, "loss_mask": torch.ones(5, 6)})
    with pytest.raises(ValueError, match="group_ids"):
        RolloutBatch(**{**batch.__dict__, "group_ids": torch.zeros(4)})


@pytest.mark.parametrize("lam, long_weighs_more", [(0.95, False), (1.0, True)])
def test_gae_lambda_and_the_weight_of_a_long_failure(lam: float, long_weighs_more: bool) -> None:
    """Why the SmolLM2 demo drifted to longer answers: with a critic that knows nothing yet
    (values 0) and whitened advantages, lambda 0.95 spreads a 128-token answer's terminal -1
    so thinly that each of its tokens is pushed down less than each token of a 45-token answer
    ending in -0.6, so PPO favours longer (truncated, non-compiling) answers; lambda 1 gives
    every token its answer's reward and the long failure weighs more per token, as its reward says."""
    from stepcoder.rl.masked import masked_whiten

    rollouts = [(45, -0.6), (128, -1.0), (55, 1.0), (60, -0.3)]  # (tokens, reward)
    rewards, mask = torch.zeros(4, 128), torch.zeros(4, 128)
    for i, (length, reward) in enumerate(rollouts):
        mask[i, :length], rewards[i, length - 1] = 1.0, reward
    advantages, _ = compute_gae(rewards, torch.zeros(4, 128), mask, gamma=1.0, lam=lam)
    per_token = (masked_whiten(advantages, mask) * mask).sum(1) / mask.sum(1)
    short_runtime_error, long_compile_error = float(per_token[0]), float(per_token[1])
    assert short_runtime_error < 0 and long_compile_error < 0
    assert (long_compile_error < short_runtime_error) is long_weighs_more
