"""Learning-rate schedules: linear warmup, then constant, linear or cosine decay to 0."""

from __future__ import annotations

import math

import torch


def lr_factor(step: int, total: int, warmup: int, kind: str) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (0-based).

    >>> [round(lr_factor(s, 10, 2, "linear"), 3) for s in (0, 1, 2, 6)]
    [0.5, 1.0, 1.0, 0.5]
    >>> lr_factor(5, 10, 0, "constant")
    1.0
    """
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if kind == "constant":
        return 1.0
    decay_steps = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / decay_steps, 1.0)
    if kind == "linear":
        return 1.0 - progress
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {kind!r}")


def make_scheduler(optimizer: torch.optim.Optimizer, total: int, warmup: int, kind: str) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`lr_factor`; step it once per optimizer step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warmup, kind))
