"""Data parallelism through accelerate: each process samples and executes its share of the
problems; gradients are all-reduced by the prepared (DDP) models."""

from __future__ import annotations

import os
from typing import Any, TypeVar

import torch

T = TypeVar("T")

SCALE_OUT_FIX = ("on CPU, start the processes with torchrun: `torchrun --nproc_per_node 2 -m stepcoder train ...` "
                 "(see the README, Scale-out)")
# Variables a real multi-process launcher sets in each process it starts (torchrun, mpirun).
_LAUNCHER_VARS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


class LaunchError(ValueError):
    """Several processes were asked for, but this one runs alone."""


def check_launch(environ=os.environ) -> None:
    """Fail when ``accelerate launch --cpu --num_processes N`` (N > 1) started one process.

    Without mpirun, accelerate's CPU launch runs the script once, with the rendezvous address
    it sets only for N > 1 (``MASTER_ADDR``) but no world size; the run would silently train
    on one process. torchrun starts N processes with ``WORLD_SIZE`` set.
    """
    asked = environ.get("ACCELERATE_USE_CPU", "").lower() == "true" and "MASTER_ADDR" in environ
    if asked and not any(var in environ for var in _LAUNCHER_VARS):
        raise LaunchError("accelerate launch --cpu asked for several processes but started only this one "
                          f"(accelerate starts CPU processes only through mpirun): {SCALE_OUT_FIX}")


def make_accelerator(cpu: bool = False, mixed_precision: str = "no"):
    """One ``Accelerator`` per run. Under ``torchrun`` it picks up the process group (gloo on
    CPU, NCCL on GPUs); alone it is a no-op wrapper. Gradient accumulation is done by hand
    (see update.py), so accelerate's own counter stays at 1. A launch that asked for more
    processes than joined the group is an error (:class:`LaunchError`), never a quiet
    single-process run."""
    from accelerate import Accelerator

    check_launch()
    acc = Accelerator(cpu=cpu or not torch.cuda.is_available(), mixed_precision=mixed_precision)
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world != acc.num_processes:
        raise LaunchError(f"WORLD_SIZE is {world} but the process group holds {acc.num_processes} process(es): "
                          f"{SCALE_OUT_FIX}")
    return acc


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
