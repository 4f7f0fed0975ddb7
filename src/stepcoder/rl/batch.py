"""The typed rollout batch carried from generation to the PPO update.

Alignment convention (one for the whole project): ``input_ids`` is (B, T), prompt
left-padded then completion right-padded. Every per-token tensor is (B, T-1) and aligned
with ``input_ids[:, 1:]``: position t holds quantities for *predicting* token t+1, i.e.
``old_logprobs[b, t] = log pi(input_ids[b, t+1] | input_ids[b, :t+1])`` and
``values[b, t] = V(input_ids[b, :t+1])``, the value of the state in which token t+1 is
chosen. This is what ``logits[:, :-1]`` gathered at ``input_ids[:, 1:]`` gives (TRL's
``selective_log_softmax``), so no shifting is ever needed after the forward pass.

Masks (1 = counts): ``action_mask`` is 1 where ``input_ids[:, 1:]`` is a generated token
(never on prompt, CCCS prefix, or padding); ``loss_mask`` is ``action_mask x`` the FGO mask.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

# Per-token fields, checked to be (B, T-1); None = not computed (e.g. no critic, no reference).
_TOKEN_FIELDS = ("action_mask", "loss_mask", "old_logprobs", "ref_logprobs", "values", "advantages", "returns")


@dataclass
class RolloutBatch:
    """One PPO batch: B episodes (generated programs) with everything the update needs."""

    input_ids: Tensor  # (B, T) int64: left-padded prompt + completion + right padding
    attention_mask: Tensor  # (B, T) 1 on real tokens of input_ids, 0 on padding
    action_mask: Tensor  # (B, T-1) 1 where input_ids[:, 1:] is a generated token: KL, value loss
    loss_mask: Tensor  # (B, T-1) action_mask x FGO mask: the tokens of the policy loss
    old_logprobs: Tensor  # (B, T-1) log pi_old(a_t|s_t) of the sampling policy
    seq_rewards: Tensor  # (B,) float: reward of the executed program (verdict_reward)
    group_ids: Tensor  # (B,) int64: rows sampled from the same prompt share an id
    ref_logprobs: Tensor | None = None  # (B, T-1) log pi_ref(a_t|s_t); None when beta = 0
    values: Tensor | None = None  # (B, T-1) V_old(s_t) of the critic at sampling time
    advantages: Tensor | None = None  # (B, T-1) GAE or group-relative advantages, 0 off-mask
    returns: Tensor | None = None  # (B, T-1) critic targets (advantages + values), 0 off-mask

    def __post_init__(self) -> None:
        B, T = self.input_ids.shape
        if self.attention_mask.shape != (B, T):
            raise ValueError(f"attention_mask is {tuple(self.attention_mask.shape)}, expected {(B, T)}")
        for name in _TOKEN_FIELDS:
            tensor = getattr(self, name)
            if tensor is not None and tensor.shape != (B, T - 1):
                raise ValueError(
                    f"{name} is {tuple(tensor.shape)}, expected {(B, T - 1)}: per-token tensors are "
                    "aligned with input_ids[:, 1:] (see stepcoder.rl.batch)"
                )
        for name in ("seq_rewards", "group_ids"):
            if getattr(self, name).shape != (B,):
                raise ValueError(f"{name} is {tuple(getattr(self, name).shape)}, expected {(B,)}")

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def _map(self, fn) -> RolloutBatch:
        changes = {f.name: fn(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return RolloutBatch(**changes)

    def to(self, device: torch.device | str) -> RolloutBatch:
        """A copy with every tensor on ``device``."""
        return self._map(lambda t: None if t is None else t.to(device))

    def select(self, idx: Tensor | list[int]) -> RolloutBatch:
        """The rows ``idx`` (in that order) of every tensor."""
        idx = torch.as_tensor(idx, dtype=torch.long, device=self.input_ids.device)
        return self._map(lambda t: None if t is None else t[idx])

    def minibatches(self, size: int, generator: torch.Generator | None = None) -> Iterator[RolloutBatch]:
        """Shuffle the rows once, then yield consecutive slices of ``size`` rows; the last
        one is smaller when ``size`` does not divide B (no row is dropped)."""
        if size < 1:
            raise ValueError(f"minibatch size must be >= 1, got {size}")
        order = torch.randperm(len(self), generator=generator)
        for start in range(0, len(self), size):
            yield self.select(order[start : start + size])
