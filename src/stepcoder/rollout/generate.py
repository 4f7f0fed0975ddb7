"""Batched sampling of completions with HF ``generate`` (KV cache, left padding)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch
from torch import nn

from stepcoder.rollout.config import SamplingConfig
from stepcoder.rollout.offsets import decode_with_offsets

FinishReason = Literal["eos", "stop", "length"]
StopFn = Callable[[str], "int | None"]


@dataclass
class Completion:
    """One sampled completion of a prompt.

    ``completion_ids`` are the tokens the policy actually sampled, up to and including the
    token that ended the completion: the eos token, or the token that completed a stop
    sequence (vLLM's convention). Those are the actions PPO scores; the final one carries the
    reward. ``text`` is the program text: it excludes the eos and the stop sequence.
    ``token_offsets[i]`` is the (start, end) span of ``completion_ids[i]`` in ``text``,
    clipped to ``text``: eos and stop-sequence tokens get empty spans at ``len(text)``.
    """

    prompt_ids: list[int]
    completion_ids: list[int]
    text: str
    token_offsets: list[tuple[int, int]]
    finish_reason: FinishReason
    ends_with_eos: bool


class _StopOnText:
    """A ``StoppingCriteria`` ending each row whose completion text contains a stop
    sequence (or where ``stop_fn`` finds the end); remembers the length at which it did."""

    def __init__(self, tokenizer, prompt_len: int, stop: Sequence[str], stop_fn: StopFn | None):
        self.decode_batch = _batch_decoder(tokenizer)
        self.prompt_len = prompt_len
        self.stop = list(stop)
        self.stop_fn = stop_fn
        # A stop sequence of k characters spans at most k + 1 tokens unless tokens are partial
        # bytes; a miss here only costs extra tokens, the final cut is done on the whole text.
        self.window = max((len(s) for s in self.stop), default=0) + 4
        self.stopped_at: dict[int, int] = {}

    def __call__(self, input_ids: torch.Tensor, scores=None, **kwargs) -> torch.Tensor:
        new_len = input_ids.shape[1] - self.prompt_len
        start = self.prompt_len if self.stop_fn is not None else max(self.prompt_len, input_ids.shape[1] - self.window)
        rows = [r for r in range(input_ids.shape[0]) if r not in self.stopped_at]
        texts = self.decode_batch(input_ids[rows, start:].tolist()) if rows else []
        for row, text in zip(rows, texts):
            if any(s in text for s in self.stop) or (self.stop_fn is not None and self.stop_fn(text) is not None):
                self.stopped_at[row] = new_len
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        done[list(self.stopped_at)] = True
        return done


def _batch_decoder(tokenizer):
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return lambda batch: backend.decode_batch(batch, skip_special_tokens=True)
    return lambda batch: tokenizer.batch_decode(batch, skip_special_tokens=True)


def eos_token_ids(model: nn.Module, tokenizer) -> set[int]:
    """Every id that ends generation: the tokenizer's eos and the generation config's list
    (Gemma ends turns with a second id)."""
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if gen_eos is not None:
        ids |= set(gen_eos) if isinstance(gen_eos, (list, tuple)) else {gen_eos}
    return ids


def find_stop(text: str, stop: Sequence[str], stop_fn: StopFn | None) -> tuple[int, int] | None:
    """(cut, stop_end): where the completion text ends and where the stopping text ends, for
    the earliest stop sequence or ``stop_fn`` cut; None if neither occurs."""
    best: tuple[int, int] | None = None
    for s in stop:
        i = text.find(s)
        if i >= 0 and (best is None or i < best[0]):
            best = (i, i + len(s))
    if stop_fn is not None:
        cut = stop_fn(text)
        if cut is not None and (best is None or cut < best[0]):
            best = (cut, cut)
    return best


def finish(tokenizer, prompt_ids: list[int], generated: list[int], eos_ids: set[int],
           cfg: SamplingConfig, stop_fn: StopFn | None) -> Completion:
    """Cut one generated row (already without padding) into a ``Completion``."""
    eos_at = next((i for i, t in enumerate(generated) if t in eos_ids), None)
    ids = generated if eos_at is None else generated[:eos_at + 1]
    text, offsets = decode_with_offsets(tokenizer, ids)
    found = find_stop(text, cfg.stop, stop_fn)
    if found is not None:
        cut, stop_end = found
        # keep tokens through the one that completes the stop text (at least one token)
        last = next((i for i, (_, e) in enumerate(offsets) if e >= stop_end), len(ids) - 1)
        ids, text = ids[:max(last, 0) + 1], text[:cut]
        offsets = [(min(s, cut), min(e, cut)) for s, e in offsets[:len(ids)]]
        return Completion(prompt_ids, ids, text, offsets, "stop", False)
    if eos_at is not None:
        return Completion(prompt_ids, ids, text, offsets, "eos", True)
    return Completion(prompt_ids, ids, text, offsets, "length", False)


@torch.no_grad()
def generate_completions(model: nn.Module, tokenizer, prompts: list[str], cfg: SamplingConfig,
                         stop_fn: StopFn | None = None) -> list[list[Completion]]:
    """``cfg.n`` completions of each prompt, in prompt order.

    ``stop_fn(completion_text)`` may return a character index where the completion ends
    (e.g. after the first top-level function), or None. The same ``cfg.seed`` gives the same
    completions; the caller's torch RNG state is left untouched.
    """
    prompt_ids = [tokenizer(p)["input_ids"] for p in prompts]
    # Each prompt repeated n times, then cut into generate calls of batch_size rows: HF's
    # num_return_sequences does the same repeat_interleave, but this way batch_size need not
    # be a multiple of n.
    rows = [i for i in range(len(prompts)) for _ in range(cfg.n)]
    eos_ids = eos_token_ids(model, tokenizer)
    device = next(model.parameters()).device
    results: list[list[Completion]] = [[] for _ in prompts]
    was_training = model.training
    model.eval()
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(cfg.seed)
            for start in range(0, len(rows), cfg.batch_size):
                chunk = rows[start:start + cfg.batch_size]
                for i, completion in zip(chunk, _generate_batch(model, tokenizer, [prompt_ids[i] for i in chunk],
                                                                 cfg, stop_fn, eos_ids, device)):
                    results[i].append(completion)
    finally:
        model.train(was_training)
    return results


def _generate_batch(model: nn.Module, tokenizer, batch_prompt_ids: list[list[int]], cfg: SamplingConfig,
                    stop_fn: StopFn | None, eos_ids: set[int], device: torch.device) -> list[Completion]:
    from transformers import StoppingCriteriaList

    pad_id = tokenizer.pad_token_id
    width = max(len(p) for p in batch_prompt_ids)
    input_ids = torch.full((len(batch_prompt_ids), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for r, ids in enumerate(batch_prompt_ids):  # left padding: generation appends on the right
        input_ids[r, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
        attention_mask[r, width - len(ids):] = 1
    criteria = _StopOnText(tokenizer, width, cfg.stop, stop_fn) if (cfg.stop or stop_fn) else None
    sampling = {} if cfg.greedy else {"temperature": cfg.temperature, "top_p": cfg.top_p, "top_k": 0}
    out = model.generate(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                         do_sample=not cfg.greedy, max_new_tokens=cfg.max_new_tokens, use_cache=True,
                         pad_token_id=pad_id, eos_token_id=sorted(eos_ids), num_return_sequences=1,
                         stopping_criteria=StoppingCriteriaList([criteria]) if criteria else None,
                         **sampling)
    generated = out[:, width:].tolist()
    stopped = criteria.stopped_at if criteria else {}
    return [finish(tokenizer, batch_prompt_ids[r], row[:stopped.get(r, len(row))], eos_ids, cfg, stop_fn)
            for r, row in enumerate(generated)]
