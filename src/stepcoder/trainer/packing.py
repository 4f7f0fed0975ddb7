"""Pack prompt and completion token lists into the layout of :class:`stepcoder.rl.RolloutBatch`.

Row ``i`` is ``left padding + prompt_i + completion_i + right padding``, so every completion
starts at the same column ``P`` (the longest prompt). Per-token tensors are ``(B, T-1)`` and
aligned with ``input_ids[:, 1:]``: completion token ``j`` sits at index ``P - 1 + j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Packed:
    """Padded sequences and where their completions sit."""

    input_ids: torch.Tensor  # (B, T) left-padded prompt + completion + right padding
    attention_mask: torch.Tensor  # (B, T) 1 on real tokens
    action_mask: torch.Tensor  # (B, T-1) 1 on completion tokens (the actions)
    prompt_width: int  # P: the column where every completion starts
    completion_lens: list[int]


def pack(prompts: list[list[int]], completions: list[list[int]], pad_id: int) -> Packed:
    """Left-pad prompts, right-pad completions; every row needs >= 1 token of each."""
    if any(not p for p in prompts) or any(not c for c in completions):
        raise ValueError("every prompt and every completion needs at least one token")
    width_p = max(len(p) for p in prompts)
    width_c = max(len(c) for c in completions)
    batch = len(prompts)
    input_ids = torch.full((batch, width_p + width_c), pad_id, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    action_mask = torch.zeros((batch, width_p + width_c - 1), dtype=torch.float32)
    for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        start = width_p - len(prompt)
        input_ids[i, start:width_p] = torch.tensor(prompt, dtype=torch.long)
        input_ids[i, width_p : width_p + len(completion)] = torch.tensor(completion, dtype=torch.long)
        attention_mask[i, start : width_p + len(completion)] = 1
        action_mask[i, width_p - 1 : width_p - 1 + len(completion)] = 1.0
    return Packed(input_ids, attention_mask, action_mask, width_p, [len(c) for c in completions])


def scatter_completion_values(packed: Packed, values: list[list[float]]) -> torch.Tensor:
    """Place one value per completion token into the ``(B, T-1)`` layout (0 elsewhere)."""
    out = torch.zeros_like(packed.action_mask)
    for i, row in enumerate(values):
        if len(row) != packed.completion_lens[i]:
            raise ValueError(f"row {i}: {len(row)} values for {packed.completion_lens[i]} completion tokens")
        out[i, packed.prompt_width - 1 : packed.prompt_width - 1 + len(row)] = torch.tensor(row, dtype=out.dtype)
    return out
