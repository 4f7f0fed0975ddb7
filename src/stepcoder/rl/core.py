"""PPO building blocks as pure functions of tensors (no model, no config object, no programs).

Shapes: ``B`` rows (episodes), ``T`` per-token positions. Every per-token
tensor follows the alignment of :mod:`stepcoder.rl.batch` (position t scores token t+1), but
nothing here depends on it: the masks say which positions count (1 = counts).

Each loss returns ``(loss, metrics)`` where metrics is a dict of detached scalar tensors.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from stepcoder.rl.masked import masked_mean, masked_var

def _where(mask: Tensor, x: Tensor) -> Tensor:
    """``x`` where the mask counts, 0 elsewhere: keeps garbage (inf, huge) out of exp/squares."""
    return torch.where(mask != 0, x, torch.zeros_like(x))


def last_token_index(mask_BT: Tensor) -> Tensor:
    """Index of the last 1 in each row of ``mask_BT``; raises if a row has none."""
    counts = (mask_BT != 0).sum(-1)
    if bool((counts == 0).any()):
        rows = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"rows {rows} have no completion token: the sequence reward has nowhere to go")
    T = mask_BT.shape[-1]
    positions = torch.arange(T, device=mask_BT.device).expand_as(mask_BT)
    return torch.where(mask_BT != 0, positions, torch.full_like(positions, -1)).max(-1).values


def kl_penalized_rewards(
    seq_rewards_B: Tensor,
    logprobs_BT: Tensor,
    ref_logprobs_BT: Tensor,
    action_mask_BT: Tensor,
    beta: float,
) -> tuple[Tensor, Tensor]:
    """Per-token rewards: ``-beta * (logp - logp_ref)`` on every completion token, plus the
    sequence reward on the last completion token (StepCoder §3.1, Eq. 3-4; the k1 KL
    estimator of Ziegler et al. 2019, as in MOSS-RLHF and OpenRLHF ``compute_reward``).

    Returns ``(token_rewards_BT, kl_BT)``; both are 0 outside the action mask.
    """
    kl_BT = _where(action_mask_BT, logprobs_BT - ref_logprobs_BT)
    token_rewards_BT = -beta * kl_BT
    last_B = last_token_index(action_mask_BT)
    rows_B = torch.arange(seq_rewards_B.shape[0], device=seq_rewards_B.device)
    token_rewards_BT = token_rewards_BT.index_put(
        (rows_B, last_B), seq_rewards_B.to(token_rewards_BT.dtype), accumulate=True
    )
    return token_rewards_BT, kl_BT


def kl_k3(logprobs_BT: Tensor, ref_logprobs_BT: Tensor, mask_BT: Tensor) -> Tensor:
    """Per-token k3 estimate of KL(pi || pi_ref) from samples of pi:
    ``exp(ref - logp) - (ref - logp) - 1``, never negative, 0 where the two agree and outside
    the mask (Schulman 2020, "Approximating KL divergence"; GRPO's KL estimator, Shao et al.
    2024, Eq. 4). Differentiable in ``logprobs_BT``; (B, T).
    """
    diff_BT = _where(mask_BT, ref_logprobs_BT - logprobs_BT)
    return torch.exp(diff_BT) - diff_BT - 1.0


@torch.no_grad()
def compute_gae(
    token_rewards_BT: Tensor, values_BT: Tensor, action_mask_BT: Tensor, gamma: float, lam: float
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016) over the masked-in tokens.

    A backwards scan over time, vectorised over rows. Positions where the mask is 0 are
    skipped as if absent: they neither receive nor pass on anything, so the value after the
    last completion token is 0 (the episode ends there) and a 0 in the middle of a row
    joins its two sides. Returns ``(advantages_BT, returns_BT)``, 0 outside the mask;
    ``returns = advantages + values`` is the critic's target.
    """
    B, T = token_rewards_BT.shape
    mask_BT = action_mask_BT != 0
    rewards_BT = _where(mask_BT, token_rewards_BT)
    values_BT = _where(mask_BT, values_BT)
    advantages_BT = torch.zeros_like(rewards_BT)
    next_value_B = rewards_BT.new_zeros(B)
    next_adv_B = rewards_BT.new_zeros(B)
    for t in reversed(range(T)):
        m_B = mask_BT[:, t]
        delta_B = rewards_BT[:, t] + gamma * next_value_B - values_BT[:, t]
        adv_B = delta_B + gamma * lam * next_adv_B
        advantages_BT[:, t] = torch.where(m_B, adv_B, torch.zeros_like(adv_B))
        next_adv_B = torch.where(m_B, adv_B, next_adv_B)
        next_value_B = torch.where(m_B, values_BT[:, t], next_value_B)
    returns_BT = _where(mask_BT, advantages_BT + values_BT)
    return advantages_BT, returns_BT


def compute_gae_naive(
    token_rewards_BT: Tensor, values_BT: Tensor, action_mask_BT: Tensor, gamma: float, lam: float
) -> tuple[Tensor, Tensor]:
    """Reference for :func:`compute_gae`: per row, keep the masked-in positions, run the
    textbook GAE recursion in Python, scatter back."""
    advantages = torch.zeros_like(token_rewards_BT)
    returns = torch.zeros_like(token_rewards_BT)
    for b in range(token_rewards_BT.shape[0]):
        idx = [t for t in range(token_rewards_BT.shape[1]) if action_mask_BT[b, t] != 0]
        r = [float(token_rewards_BT[b, t]) for t in idx]
        v = [float(values_BT[b, t]) for t in idx] + [0.0]
        gae = 0.0
        for i in reversed(range(len(idx))):
            delta = r[i] + gamma * v[i + 1] - v[i]
            gae = delta + gamma * lam * gae
            advantages[b, idx[i]] = gae
            returns[b, idx[i]] = gae + v[i]
    return advantages, returns


def policy_loss(
    logprobs_BT: Tensor,
    old_logprobs_BT: Tensor,
    advantages_BT: Tensor,
    loss_mask_BT: Tensor,
    clip_eps: float,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Clipped PPO surrogate (Schulman et al. 2017, Eq. 7), a token-mean over the tokens of
    ``loss_mask_BT`` (completion x FGO mask: StepCoder §3.2 masks unexecuted code here only);
    the token-mean of OpenRLHF/verl, so a long completion weighs more than a short one.

    Metrics: ``clip_frac`` (share of tokens whose clipped term is active), ``approx_kl``
    (:func:`kl_k3` of pi_old to pi, i.e. (r - 1) - log r: an unbiased, always non-negative
    estimate of KL(pi_old || pi) from samples of pi_old; as in TRL/verl), ``ratio_mean``.
    """
    log_ratio_BT = _where(loss_mask_BT, logprobs_BT - old_logprobs_BT)
    advantages_BT = _where(loss_mask_BT, advantages_BT)
    ratio_BT = torch.exp(log_ratio_BT)
    unclipped_BT = -advantages_BT * ratio_BT
    clipped_BT = -advantages_BT * torch.clamp(ratio_BT, 1.0 - clip_eps, 1.0 + clip_eps)
    loss = masked_mean(torch.maximum(unclipped_BT, clipped_BT), loss_mask_BT)
    with torch.no_grad():
        metrics = {
            "clip_frac": masked_mean((clipped_BT > unclipped_BT).float(), loss_mask_BT),
            "approx_kl": masked_mean(kl_k3(old_logprobs_BT, logprobs_BT, loss_mask_BT), loss_mask_BT),
            "ratio_mean": masked_mean(ratio_BT, loss_mask_BT),
        }
    return loss, metrics


def value_loss(
    values_BT: Tensor,
    old_values_BT: Tensor,
    returns_BT: Tensor,
    mask_BT: Tensor,
    clip_eps: float,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Clipped value loss ``0.5 * max((v - R)^2, (v_clip - R)^2)`` with
    ``v_clip = v_old + clamp(v - v_old, -eps, eps)`` (PPO2 baselines; verl
    ``compute_value_loss``; OpenRLHF ``ValueLoss``), a token-mean over ``mask_BT``: the
    action mask, so the critic learns on every completion token (FGO does not apply,
    StepCoder §3.2), unless the trainer passes the FGO loss mask.
    """
    values_BT = _where(mask_BT, values_BT)
    old_values_BT = _where(mask_BT, old_values_BT)
    returns_BT = _where(mask_BT, returns_BT)
    clipped_BT = old_values_BT + torch.clamp(values_BT - old_values_BT, -clip_eps, clip_eps)
    unclipped_err_BT = (values_BT - returns_BT) ** 2
    clipped_err_BT = (clipped_BT - returns_BT) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped_err_BT, clipped_err_BT), mask_BT)
    with torch.no_grad():
        metrics = {
            "clip_frac": masked_mean((clipped_err_BT > unclipped_err_BT).float(), mask_BT),
            "explained_variance": explained_variance(values_BT, returns_BT, mask_BT),
        }
    return loss, metrics


@torch.no_grad()
def explained_variance(values: Tensor, returns: Tensor, mask: Tensor) -> Tensor:
    """``1 - Var[R - v] / Var[R]`` over masked-in positions: 1 = perfect critic, 0 = no better
    than a constant. When ``Var[R] = 0`` it is 1 if the residual is 0, else 0 (scikit-learn's
    ``force_finite`` rule), so the metric is always finite."""
    var_returns = masked_var(returns, mask, unbiased=False)
    var_residual = masked_var(returns - values, mask, unbiased=False)
    if float(var_returns) == 0.0:
        return torch.tensor(1.0 if float(var_residual) == 0.0 else 0.0)
    return 1.0 - var_residual / var_returns


def group_relative_advantages(
    seq_rewards_B: Tensor,
    group_ids_B: Tensor,
    eps: float = 1e-6,
    scale: Literal["std", "none"] = "std",
) -> Tensor:
    """GRPO advantages (Shao et al. 2024): each reward minus its group's mean, divided by
    the group's (unbiased, as ``torch.std`` in TRL/verl) std plus ``eps`` when
    ``scale="std"``; ``scale="none"`` keeps only the centring (Dr. GRPO, Liu et al. 2025).

    A group whose rewards are all equal gets exactly 0 (nothing to learn from it), and so
    does a group of one.
    """
    if scale not in ("std", "none"):
        raise ValueError(f"unknown scale {scale!r}: expected 'std' or 'none'")
    rewards_B = seq_rewards_B.to(torch.float32)
    _, inverse_B = torch.unique(group_ids_B, return_inverse=True)
    G = int(inverse_B.max()) + 1
    zeros_G = rewards_B.new_zeros(G)
    count_G = zeros_G.index_add(0, inverse_B, torch.ones_like(rewards_B))
    mean_G = zeros_G.index_add(0, inverse_B, rewards_B) / count_G
    # equal rewards give exactly 0, not rounding noise divided by a tiny std.
    max_G = zeros_G.scatter_reduce(0, inverse_B, rewards_B, "amax", include_self=False)
    min_G = zeros_G.scatter_reduce(0, inverse_B, rewards_B, "amin", include_self=False)
    constant_B = (max_G == min_G)[inverse_B]
    centred_B = torch.where(constant_B, torch.zeros_like(rewards_B), rewards_B - mean_G[inverse_B])
    if scale == "none":
        return centred_B
    sq_G = zeros_G.index_add(0, inverse_B, centred_B**2)
    std_G = torch.sqrt(sq_G / (count_G - 1).clamp(min=1.0))
    scaled_B = centred_B / (std_G[inverse_B] + eps)
    return torch.where(constant_B, torch.zeros_like(scaled_B), scaled_B)  # eps = 0 must not give 0/0


def broadcast_to_tokens(values_B: Tensor, mask_BT: Tensor) -> Tensor:
    """Give every counted token its row's value (0 elsewhere): sequence advantages -> (B, T)."""
    return _where(mask_BT, values_B[:, None].expand(mask_BT.shape))
