"""Data parallelism through accelerate: each process samples and executes its share of the
problems; gradients are all-reduced by the prepared (DDP) models."""

from __future__ import annotations

from typing import Any, TypeVar

import torch

T = TypeVar("T")


def make_accelerator(cpu: bool = False, mixed_precision: str = "no"):
    """One ``Accelerator`` per run. Under ``torchrun`` it picks up the process group (gloo on
    CPU, NCCL on GPUs); alone it is a no-op wrapper. Gradient accumulation is done by hand
    (see update.py), so accelerate's own counter stays at 1."""
    from accelerate import Accelerator

    return Accelerator(cpu=cpu or not torch.cuda.is_available(), mixed_precision=mixed_precision)


def shard(items: list[T], rank: int, world: int) -> list[T]:
    """This process's contiguous slice; ``len(items)`` must be a multiple of ``world`` so every
    process runs the same number of optimizer steps (a DDP all-reduce waits for all).

    >>> shard(list(range(6)), 1, 3)
    [2, 3]
    """
    if len(items) % world:
        raise ValueError(f"{len(items)} items cannot be split evenly over {world} processes "
                         "(training.problems_per_step must be a multiple of the number of processes)")
    per = len(items) // world
    return items[rank * per : (rank + 1) * per]


def gather_objects(obj: Any, accelerator) -> list[Any]:
    """Every process's ``obj``, in rank order (a one-element list without distribution)."""
    if accelerator is None or accelerator.num_processes == 1:
        return [obj]
    out: list[Any] = [None] * accelerator.num_processes
    torch.distributed.all_gather_object(out, obj)
    return out


def global_sums(values: list[float], accelerator) -> list[float]:
    """Element-wise sums of ``values`` over every process (one all-reduce); ``values`` itself
    without distribution. Every process must call it the same number of times."""
    if accelerator is None or accelerator.num_processes == 1:
        return list(values)
    # float64: token counts stay exact; NCCL and gloo both reduce it
    total = torch.tensor(values, dtype=torch.float64, device=accelerator.device)
    torch.distributed.all_reduce(total)
    return total.tolist()


def unwrap(model: torch.nn.Module, accelerator) -> torch.nn.Module:
    return model if accelerator is None else accelerator.unwrap_model(model)
