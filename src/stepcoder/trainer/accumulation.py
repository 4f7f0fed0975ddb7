"""The one gradient-accumulation loop of the PPO update and of SFT.

A step's batch is split into micro-batches whose gradients accumulate before one optimizer
step. Each micro-batch's token-mean loss is weighted by its share of the counted tokens of
the batch of *all* processes (one all-reduce of the counts per batch), times the number of
processes because DDP averages gradients. So the accumulated, all-reduced gradient is that of
one token-mean over the global batch: "minibatch 8 x accumulation 1 == 4 x 2"
(tests/test_trainer_update.py, tests/test_sft.py) and "2 processes x 4 rows == 1 process x 8
rows" (tests/test_ddp.py). Without the global count, each process's own token-mean would be
averaged, which over-weights the tokens of a process that holds few (short or mostly
FGO-masked completions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import TypeVar

import torch
from torch import Tensor

from stepcoder.plumbing.distributed import global_sums

M = TypeVar("M")


class TokenWeights:
    """Weights that turn micro-batch token-means into the token-mean over the global batch,
    for one or more token counts (PPO: policy-loss, action and critic tokens; SFT: targets)."""

    def __init__(self, local_counts: Sequence[float], accelerator) -> None:
        world = 1 if accelerator is None else accelerator.num_processes
        # a count of 0 weighs nothing whatever its norm; max(., 1) only avoids dividing by 0
        self._norms = [max(n, 1.0) / world for n in global_sums([float(n) for n in local_counts], accelerator)]

    def weight(self, tokens: float | Tensor, count: int = 0) -> float:
        """The weight of a micro-batch's token-mean over ``tokens`` tokens of count ``count``."""
        return float(tokens) / self._norms[count]


def accumulate(model: torch.nn.Module, micro_batches: Sequence[M], weighted_loss: Callable[[M], Tensor],
               accelerator) -> None:
    """Backward ``weighted_loss(micro)`` for every micro-batch, in order; DDP all-reduces the
    gradients once, on the last one (``no_sync`` before it)."""
    for i, micro in enumerate(micro_batches):
        with _no_sync(model, i == len(micro_batches) - 1, accelerator):
            loss = weighted_loss(micro)
            if accelerator is None:
                loss.backward()
            else:
                accelerator.backward(loss)


def clip_and_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, max_norm: float, accelerator) -> float:
    """Clip the gradient norm (``max_norm`` > 0), step and zero the optimizer; returns the norm
    before clipping."""
    params = [p for p in model.parameters() if p.requires_grad]
    if max_norm > 0:
        clip = accelerator.clip_grad_norm_ if accelerator is not None else torch.nn.utils.clip_grad_norm_
        norm = float(clip(params, max_norm))
    else:
        norm = float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None])))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return norm


def _no_sync(model: torch.nn.Module, last: bool, accelerator):
    """Skip the gradient all-reduce on every micro-batch but the last (DDP ``no_sync``)."""
    if last or accelerator is None or accelerator.num_processes == 1:
        return nullcontext()
    return accelerator.no_sync(model)
