"""The PPO update: epochs over shuffled minibatches, each split into micro-batches whose
gradients accumulate before one optimizer step per model (separate policy/critic optimizers).

Loss normalisation across accumulation and processes: each micro-batch's token-mean loss is
weighted by its share of the counted tokens of the minibatch of *all* processes (one
all-reduce of three counts per minibatch), times the number of processes because DDP averages
gradients. So the accumulated, all-reduced gradient is that of one token-mean over the global
minibatch: "minibatch 8 x accumulation 1 == 4 x 2" (tests/test_trainer_update.py) and
"2 processes x 4 rows == 1 process x 8 rows" (tests/test_ddp.py). Without the global count,
each process's own token-mean would be averaged, which over-weights the tokens of a process
that holds few (short or mostly FGO-masked completions).
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from stepcoder.plumbing.distributed import global_sums
from stepcoder.rl import RolloutBatch, kl_k3, masked_mean, policy_loss, value_loss

# (model, input_ids (B,T), attention_mask (B,T), action_mask (B,T-1)) -> (B, T-1) per-token quantity
TokenFn = Callable[[torch.nn.Module, Tensor, Tensor, Tensor], Tensor]


@dataclass
class UpdateSettings:
    """Scalars of the update (not the config object, so the loop is a function of numbers)."""

    epochs: int
    minibatch_size: int
    grad_accum: int
    clip_range: float
    value_clip_range: float
    max_grad_norm: float
    kl_loss_beta: float = 0.0  # > 0 only in critic-free group mode (GRPO's KL term)
    critic_uses_fgo: bool = False


@dataclass
class Learner:
    """A model with its optimizer, scheduler and per-token forward function."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    forward: TokenFn


def split_micro(minibatch: RolloutBatch, grad_accum: int) -> list[RolloutBatch]:
    """Consecutive micro-batches, each trimmed of columns that are padding in all its rows."""
    size = -(-len(minibatch) // grad_accum)
    parts = [minibatch.select(list(range(s, min(s + size, len(minibatch))))) for s in range(0, len(minibatch), size)]
    return [_trim(part) for part in parts]


def _trim(batch: RolloutBatch) -> RolloutBatch:
    """Drop the columns that are padding in every row (completions are right-padded, so the
    tail only): the same numbers for less work."""
    width = int(torch.nonzero(batch.attention_mask.sum(0)).max()) + 1
    if width == batch.input_ids.shape[1]:
        return batch
    changes = {}
    for f in dataclasses.fields(batch):
        tensor = getattr(batch, f.name)
        if tensor is not None and tensor.dim() == 2:
            tensor = tensor[:, :width] if f.name in ("input_ids", "attention_mask") else tensor[:, : width - 1]
        changes[f.name] = tensor
    return RolloutBatch(**changes)


def run_update(batch: RolloutBatch, settings: UpdateSettings, policy: Learner, critic: Learner | None,
               generator: torch.Generator, accelerator=None) -> dict[str, float]:
    """PPO epochs over ``batch``; returns metrics averaged over the optimizer steps."""
    sums: dict[str, float] = {}
    n_steps = 0
    learners = [policy] + ([critic] if critic is not None else [])
    for learner in learners:  # train mode: gradient checkpointing only acts there
        learner.model.train()
    try:
        for _ in range(settings.epochs):
            for minibatch in batch.minibatches(settings.minibatch_size, generator):
                for key, value in _minibatch_step(minibatch, settings, policy, critic, accelerator).items():
                    sums[key] = sums.get(key, 0.0) + value
                n_steps += 1
    finally:
        for learner in learners:
            learner.model.eval()
    policy.scheduler.step()
    if critic is not None:
        critic.scheduler.step()
    return {key: value / max(n_steps, 1) for key, value in sums.items()}


def _backward(loss: Tensor, accelerator) -> None:
    if accelerator is None:
        loss.backward()
    else:
        accelerator.backward(loss)


def _no_sync(model: torch.nn.Module, last: bool, accelerator):
    """Skip the gradient all-reduce on every micro-batch but the last (DDP ``no_sync``)."""
    if last or accelerator is None or accelerator.num_processes == 1:
        return nullcontext()
    return accelerator.no_sync(model)


def _clip_and_step(learner: Learner, max_norm: float, accelerator) -> float:
    params = [p for p in learner.model.parameters() if p.requires_grad]
    if max_norm > 0:
        clip = accelerator.clip_grad_norm_ if accelerator is not None else torch.nn.utils.clip_grad_norm_
        norm = float(clip(params, max_norm))
    else:
        norm = float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None])))
    learner.optimizer.step()
    learner.optimizer.zero_grad(set_to_none=True)
    return norm


def _minibatch_step(minibatch: RolloutBatch, settings: UpdateSettings, policy: Learner,
                    critic: Learner | None, accelerator) -> dict[str, float]:
    value_mask_all = minibatch.loss_mask if settings.critic_uses_fgo else minibatch.action_mask
    local = [float(minibatch.loss_mask.sum()), float(minibatch.action_mask.sum()), float(value_mask_all.sum())]
    # DDP averages gradients over processes: a micro-batch's weight is its tokens over the
    # global count / process count, so the mean of the processes' gradients is the gradient of
    # the global token-mean (module docstring). A process's metrics are scaled the same way:
    # their mean over processes (mean_over_processes) is the global token-mean.
    world = 1 if accelerator is None else accelerator.num_processes
    policy_norm, action_norm, value_norm = (max(n, 1.0) / world for n in global_sums(local, accelerator))
    metrics: dict[str, float] = {}

    def add(key: str, value: Tensor | float, weight: float) -> None:
        metrics[key] = metrics.get(key, 0.0) + float(value) * weight

    micros = split_micro(minibatch, settings.grad_accum)
    for i, micro in enumerate(micros):
        last = i == len(micros) - 1
        # the micro-batch's share of the global minibatch's loss tokens, x world (module docstring)
        p_weight = float(micro.loss_mask.sum()) / policy_norm
        with _no_sync(policy.model, last, accelerator):
            logprobs = policy.forward(policy.model, micro.input_ids, micro.attention_mask, micro.action_mask)
            loss, m = policy_loss(logprobs, micro.old_logprobs, micro.advantages, micro.loss_mask, settings.clip_range)
            total = loss * p_weight
            if settings.kl_loss_beta > 0:
                a_weight = float(micro.action_mask.sum()) / action_norm
                kl = masked_mean(kl_k3(logprobs, micro.ref_logprobs, micro.action_mask), micro.action_mask)
                total = total + settings.kl_loss_beta * kl * a_weight
                add("policy/kl_loss", kl.detach(), a_weight)
            _backward(total, accelerator)
        add("policy/loss", loss.detach(), p_weight)
        add("policy/clip_frac", m["clip_frac"], p_weight)
        add("policy/approx_kl", m["approx_kl"], p_weight)
        if critic is not None:
            vmask = micro.loss_mask if settings.critic_uses_fgo else micro.action_mask
            v_weight = float(vmask.sum()) / value_norm
            with _no_sync(critic.model, last, accelerator):
                values = critic.forward(critic.model, micro.input_ids, micro.attention_mask, micro.action_mask)
                vloss, vm = value_loss(values, micro.values, micro.returns, vmask, settings.value_clip_range)
                _backward(vloss * v_weight, accelerator)
            add("value/loss", vloss.detach(), v_weight)
            add("value/clip_frac", vm["clip_frac"], v_weight)
    metrics["policy/grad_norm"] = _clip_and_step(policy, settings.max_grad_norm, accelerator)
    if critic is not None:
        metrics["value/grad_norm"] = _clip_and_step(critic, settings.max_grad_norm, accelerator)
    return metrics
