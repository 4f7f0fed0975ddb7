"""Pure tensor RL code: masked ops, rewards, GAE, KL penalty, PPO losses, the typed batch.

Knows nothing of programs or models: inputs are tensors and scalars (1 in a mask = counts).
Exports load lazily, so that importing ``stepcoder.rl.rewards.RewardConfig`` (part of the
training config, read by light command-line paths) does not import torch.
"""

from __future__ import annotations

_LAZY = {
    "RolloutBatch": "stepcoder.rl.batch",
    **{
        name: "stepcoder.rl.core"
        for name in (
            "broadcast_to_tokens", "compute_gae", "compute_gae_naive", "explained_variance",
            "group_relative_advantages", "kl_k3", "kl_penalized_rewards", "last_token_index",
            "policy_loss", "value_loss",
        )
    },
    **{name: "stepcoder.rl.masked" for name in ("masked_mean", "masked_sum", "masked_var", "masked_whiten")},
    "RewardConfig": "stepcoder.rl.rewards",
    "verdict_reward": "stepcoder.rl.rewards",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    # torch loads only when a tensor function is used (the ``stepcoder.models`` pattern).
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stepcoder.rl' has no attribute {name!r}")
