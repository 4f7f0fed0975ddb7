"""Pure tensor RL code: masked ops, rewards, GAE, KL penalty, PPO losses, the typed batch.

Knows nothing of programs or models: inputs are tensors and scalars (1 in a mask = counts).
"""

from __future__ import annotations

from stepcoder.rl.batch import RolloutBatch
from stepcoder.rl.core import (
    aggregate_loss,
    broadcast_to_tokens,
    compute_gae,
    compute_gae_naive,
    entropy_from_logits,
    explained_variance,
    group_relative_advantages,
    kl_penalized_rewards,
    last_token_index,
    policy_loss,
    value_loss,
)
from stepcoder.rl.masked import masked_mean, masked_sum, masked_var, masked_whiten
from stepcoder.rl.rewards import RewardConfig, verdict_reward

__all__ = [
    "RewardConfig",
    "RolloutBatch",
    "aggregate_loss",
    "broadcast_to_tokens",
    "compute_gae",
    "compute_gae_naive",
    "entropy_from_logits",
    "explained_variance",
    "group_relative_advantages",
    "kl_penalized_rewards",
    "last_token_index",
    "masked_mean",
    "masked_sum",
    "masked_var",
    "masked_whiten",
    "policy_loss",
    "value_loss",
    "verdict_reward",
]
