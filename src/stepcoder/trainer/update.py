"""The PPO update: epochs over shuffled minibatches, each split into micro-batches whose
gradients accumulate (``accumulation.accumulate``, shared with SFT) before one optimizer step
per model (separate policy/critic optimizers). The policy's token-mean is over its loss
tokens (completion x FGO), the KL term's over the action tokens, the critic's over its own
mask; all three counts are summed over the processes in one all-reduce per minibatch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from stepcoder.rl import RolloutBatch, kl_k3, masked_mean, policy_loss, value_loss
from stepcoder.trainer.accumulation import TokenWeights, accumulate, clip_and_step

# the token counts of a minibatch: policy-loss tokens, action tokens (KL term), critic tokens
POLICY, ACTION, VALUE = 0, 1, 2
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
    ptx_coef: float = 0.0  # weight of the supervised loss on demonstrations (PPO-ptx)


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


# () -> token-mean NLL of a fresh batch of demonstrations under the policy (PPO-ptx)
PtxLoss = Callable[[], Tensor]


def run_update(batch: RolloutBatch, settings: UpdateSettings, policy: Learner, critic: Learner | None,
               generator: torch.Generator, accelerator=None, ptx: PtxLoss | None = None) -> dict[str, float]:
    """PPO epochs over ``batch``; returns metrics averaged over the optimizer steps. With
    ``ptx`` and ``settings.ptx_coef`` > 0 every policy step also descends ``ptx_coef`` times
    the supervised loss ``ptx()`` of a batch of demonstrations (InstructGPT's PPO-ptx)."""
    sums: dict[str, float] = {}
    n_steps = 0
    learners = [policy] + ([critic] if critic is not None else [])
    for learner in learners:  # train mode: gradient checkpointing only acts there
        learner.model.train()
    try:
        for _ in range(settings.epochs):
            for minibatch in batch.minibatches(settings.minibatch_size, generator):
                for key, value in _minibatch_step(minibatch, settings, policy, critic, accelerator, ptx).items():
                    sums[key] = sums.get(key, 0.0) + value
                n_steps += 1
    finally:
        for learner in learners:
            learner.model.eval()
    policy.scheduler.step()
    if critic is not None:
        critic.scheduler.step()
    return {key: value / max(n_steps, 1) for key, value in sums.items()}


def _minibatch_step(minibatch: RolloutBatch, settings: UpdateSettings, policy: Learner,
                    critic: Learner | None, accelerator, ptx: PtxLoss | None = None) -> dict[str, float]:
    def value_mask(batch: RolloutBatch) -> Tensor:
        return batch.loss_mask if settings.critic_uses_fgo else batch.action_mask

    # a process's metrics are weighted like its losses, so their mean over processes
    # (mean_over_processes) is the global token-mean
    weights = TokenWeights([minibatch.loss_mask.sum(), minibatch.action_mask.sum(), value_mask(minibatch).sum()],
                           accelerator)
    metrics: dict[str, float] = {}

    def add(key: str, value: Tensor | float, weight: float) -> None:
        metrics[key] = metrics.get(key, 0.0) + float(value) * weight

    def policy_micro(micro: RolloutBatch) -> Tensor:
        p_weight = weights.weight(micro.loss_mask.sum(), POLICY)
        logprobs = policy.forward(policy.model, micro.input_ids, micro.attention_mask, micro.action_mask)
        loss, m = policy_loss(logprobs, micro.old_logprobs, micro.advantages, micro.loss_mask, settings.clip_range)
        total = loss * p_weight
        if settings.kl_loss_beta > 0:
            a_weight = weights.weight(micro.action_mask.sum(), ACTION)
            kl = masked_mean(kl_k3(logprobs, micro.ref_logprobs, micro.action_mask), micro.action_mask)
            total = total + settings.kl_loss_beta * kl * a_weight
            add("policy/kl_loss", kl.detach(), a_weight)
        add("policy/loss", loss.detach(), p_weight)
        add("policy/clip_frac", m["clip_frac"], p_weight)
        add("policy/approx_kl", m["approx_kl"], p_weight)
        return total

    def critic_micro(micro: RolloutBatch) -> Tensor:
        vmask = value_mask(micro)
        v_weight = weights.weight(vmask.sum(), VALUE)
        values = critic.forward(critic.model, micro.input_ids, micro.attention_mask, micro.action_mask)
        vloss, vm = value_loss(values, micro.values, micro.returns, vmask, settings.value_clip_range)
        add("value/loss", vloss.detach(), v_weight)
        add("value/clip_frac", vm["clip_frac"], v_weight)
        return vloss * v_weight

    def ptx_micro() -> Tensor:
        loss = ptx()
        add("policy/ptx_loss", loss.detach(), 1.0)
        return settings.ptx_coef * loss

    micros = split_micro(minibatch, settings.grad_accum)
    if ptx is not None and settings.ptx_coef > 0:
        # one more micro-batch of the same optimizer step: DDP still all-reduces once, on it
        accumulate(policy.model, [*micros, None], lambda m: ptx_micro() if m is None else policy_micro(m), accelerator)
    else:
        accumulate(policy.model, micros, policy_micro, accelerator)
    if critic is not None:
        accumulate(critic.model, micros, critic_micro, accelerator)
    metrics["policy/grad_norm"] = clip_and_step(policy.model, policy.optimizer, settings.max_grad_norm, accelerator)
    if critic is not None:
        metrics["value/grad_norm"] = clip_and_step(critic.model, critic.optimizer, settings.max_grad_norm, accelerator)
    return metrics
