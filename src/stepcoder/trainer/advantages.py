"""From rewards to advantages: token-level KL penalty + GAE (the paper), or critic-free
group-relative advantages (GRPO-style); then optional whitening."""

from __future__ import annotations

import dataclasses

import torch

from stepcoder.rl import (
    RolloutBatch,
    broadcast_to_tokens,
    compute_gae,
    explained_variance,
    group_relative_advantages,
    kl_penalized_rewards,
    masked_mean,
    masked_whiten,
)
from stepcoder.trainer.ppo_config import PPOConfig


def with_advantages(batch: RolloutBatch, ppo: PPOConfig) -> tuple[RolloutBatch, dict[str, float]]:
    """A copy of ``batch`` with ``advantages`` (and ``returns`` for GAE) filled in."""
    if ppo.advantage == "gae":
        advantages, returns, metrics = _gae(batch, ppo)
    else:
        advantages, returns, metrics = _group(batch), None, {}
    if ppo.whiten():
        # whitened over the tokens of the policy loss: the FGO-masked tokens carry no weight.
        advantages = masked_whiten(advantages, batch.loss_mask)
    metrics["advantages/mean"] = float(masked_mean(advantages, batch.loss_mask))
    return dataclasses.replace(batch, advantages=advantages, returns=returns), metrics


def _gae(batch: RolloutBatch, ppo: PPOConfig):
    if batch.values is None:
        raise ValueError("GAE needs the critic's values on the batch")
    # kl_beta = 0 loads no reference: the penalty is then 0 whatever the reference would say
    ref = batch.ref_logprobs if batch.ref_logprobs is not None else batch.old_logprobs
    token_rewards, kl = kl_penalized_rewards(batch.seq_rewards, batch.old_logprobs, ref, batch.action_mask, ppo.kl_beta)
    if ppo.whiten_rewards:
        token_rewards = masked_whiten(token_rewards, batch.action_mask, shift_mean=False)
    advantages, returns = compute_gae(token_rewards, batch.values, batch.action_mask, ppo.gamma, ppo.lam)
    metrics = {"kl": float(masked_mean(kl, batch.action_mask)),
               # of the critic before this step's update, against the returns it will fit
               "value/explained_variance": float(explained_variance(batch.values, returns, batch.action_mask))}
    return advantages, returns, metrics


def _group(batch: RolloutBatch) -> torch.Tensor:
    # the sequence reward alone: in group mode the KL to the reference is a loss term
    # (GRPO, Shao et al. 2024, Eq. 3), not a reward.
    seq_adv = group_relative_advantages(batch.seq_rewards, batch.group_ids)
    return broadcast_to_tokens(seq_adv, batch.action_mask)
