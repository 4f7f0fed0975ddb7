"""Batched no-grad forward passes of the "logprobs" phase: old and reference log-probs,
entropy and values, computed in micro-batches so memory matches the update's."""

from __future__ import annotations

import contextlib
import dataclasses

import torch

from stepcoder.models.forward import (
    CHUNK_ELEMENTS,
    critic_values,
    position_ids_from_mask,
    selective_log_softmax_and_entropy,
    token_logprobs,
)
from stepcoder.rl import RolloutBatch, masked_mean
from stepcoder.trainer.update import split_micro


def policy_logprobs(temperature: float):
    """The update's per-token forward: log-probs of the sampled tokens at the sampling
    temperature (the behaviour policy is softmax(logits / T); verl does the same)."""
    def forward(model, input_ids, attention_mask, action_mask):
        return token_logprobs(model, input_ids, attention_mask, completion_mask=action_mask, temperature=temperature)

    return forward


def critic_forward(model, input_ids, attention_mask, action_mask):
    """Values aligned with the log-probs: ``values[:, t]`` = V(state choosing token t+1)."""
    return critic_values(model, input_ids, attention_mask)[:, :-1]


@torch.no_grad()
def logprobs_and_entropy(model, input_ids, attention_mask, action_mask, temperature: float,
                         chunk_elements: int | None = None):
    """One forward pass giving (B, T-1) log-probs and entropies at ``temperature``; only the
    logits from the first completion column on are computed (as ``token_logprobs`` does), and
    the float32 softmax work runs in row chunks of ``chunk_elements`` logits (default
    ``stepcoder.models.forward.CHUNK_ELEMENTS``), never on the whole (B, T, V) block."""
    B, T = input_ids.shape
    cols = action_mask.any(dim=0).nonzero()
    if cols.numel() == 0:
        zeros = torch.zeros((B, T - 1), dtype=torch.float32, device=input_ids.device)
        return zeros, zeros.clone()
    start = int(cols[0])
    out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids_from_mask(attention_mask),
                logits_to_keep=T - start, use_cache=False)
    logp, entropy = selective_log_softmax_and_entropy(out.logits[:, :-1], input_ids[:, start + 1:], temperature,
                                                      chunk_elements or CHUNK_ELEMENTS)
    logp, entropy = (torch.nn.functional.pad(x, (start, 0)) for x in (logp, entropy))
    mask = action_mask.to(logp.dtype)
    return logp * mask, entropy * mask


def _chunks(batch: RolloutBatch, rows: int) -> list[RolloutBatch]:
    return split_micro(batch, max(1, -(-len(batch) // rows)))


@torch.no_grad()
def fill_forward_passes(batch: RolloutBatch, policy, reference, critic, temperature: float,
                        chunk_rows: int, accelerator=None) -> tuple[RolloutBatch, dict[str, float]]:
    """``batch`` with old log-probs, reference log-probs (if a reference is given) and
    values (if a critic is given) filled in; metrics: mean entropy and KL to the reference.

    Every pass runs under ``accelerator.autocast()``: a prepared policy autocasts itself, the
    frozen reference copy does not, and policy == reference must give a KL of exactly 0
    under every mixed-precision setting."""
    with accelerator.autocast() if accelerator is not None else contextlib.nullcontext():
        return _fill_forward_passes(batch, policy, reference, critic, temperature, chunk_rows)


def _fill_forward_passes(batch: RolloutBatch, policy, reference, critic, temperature: float,
                         chunk_rows: int) -> tuple[RolloutBatch, dict[str, float]]:
    width = batch.input_ids.shape[1]
    policy.eval()
    if critic is not None:
        critic.eval()
    old, ref, values, entropy = [], [], [], []
    for part in _chunks(batch, chunk_rows):
        pad = (0, width - part.input_ids.shape[1])
        logp, ent = logprobs_and_entropy(policy, part.input_ids, part.attention_mask, part.action_mask, temperature)
        old.append(torch.nn.functional.pad(logp, pad))
        entropy.append(torch.nn.functional.pad(ent, pad))
        if reference is not None:
            r = reference.logprobs(part.input_ids, part.attention_mask, part.action_mask, temperature)
            ref.append(torch.nn.functional.pad(r, pad))
        if critic is not None:
            values.append(torch.nn.functional.pad(critic_forward(critic, part.input_ids, part.attention_mask, None), pad))
    filled = dataclasses.replace(
        batch, old_logprobs=torch.cat(old),
        ref_logprobs=torch.cat(ref) if ref else None,
        values=torch.cat(values) * batch.action_mask if values else None)
    metrics = {"entropy": float(masked_mean(torch.cat(entropy), batch.action_mask))}
    if filled.ref_logprobs is not None:
        metrics["kl"] = float(masked_mean(filled.old_logprobs - filled.ref_logprobs, batch.action_mask))
    return filled, metrics
