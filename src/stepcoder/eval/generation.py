"""Prompts, seeded generation and completion extraction for evaluation.

Seeding: the (problem, sample) pairs of a run are cut into fixed batches of ``batch_size``
in file order, and each batch is generated with a seed derived from the base seed and its
first (task_id, sample_idx). A batch's samples thus depend only on the settings stored in
``eval_config.json``, never on where a killed run resumed (HF ``generate`` draws a whole
batch from one random stream, so a per-sample seed would force batch size 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepcoder.eval.checkpoint import resolve_eval_model
from stepcoder.eval.config import EvalConfig
from stepcoder.problems.types import Problem
from stepcoder.prompts import PromptConfig, batch_stops, load_prompt_config, make_prompt
from stepcoder.rollout.config import SamplingConfig

# (model, tokenizer, prompts, eval config, stop sequences, seed) -> one text per prompt
GenerateFn = Callable[[Any, Any, list[str], EvalConfig, tuple[str, ...], int], list[str]]


@dataclass(frozen=True)
class SampleSlot:
    """One sample to make: the problem's index in the evaluated list and the sample number."""

    problem_index: int
    sample_idx: int


def batch_seed(seed: int, task_id: str, sample_idx: int) -> int:
    """31-bit seed of the batch that starts with (task_id, sample_idx) (sha256: unrelated
    seeds for neighbouring batches).

    >>> batch_seed(0, "HumanEval/0", 0) == batch_seed(0, "HumanEval/0", 0)
    True
    """
    digest = hashlib.sha256(f"{seed}/{task_id}/{sample_idx}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def plan_batches(num_problems: int, n_samples: int, batch_size: int) -> list[list[SampleSlot]]:
    """All (problem, sample) slots in file order, cut into batches of ``batch_size``.

    >>> [[(s.problem_index, s.sample_idx) for s in b] for b in plan_batches(2, 2, 3)]
    [[(0, 0), (0, 1), (1, 0)], [(1, 1)]]
    """
    slots = [SampleSlot(p, s) for p in range(num_problems) for s in range(n_samples)]
    return [slots[i:i + batch_size] for i in range(0, len(slots), batch_size)]


def prompt_config(cfg: EvalConfig) -> PromptConfig:
    """The prompt settings of the evaluation: ``--prompt-template`` when given, else the ones
    the model was trained with (saved next to its weights), else the 'auto' template. Read
    once per evaluation."""
    if cfg.prompt_template is not None:
        return PromptConfig(template=cfg.prompt_template)
    folder = resolve_eval_model(cfg.model)  # a packaged name ('tiny-sft') carries its prompt too
    carried = load_prompt_config(folder) if Path(folder).is_dir() else None
    return carried or PromptConfig()


def rollout_generate(model: Any, tokenizer: Any, prompts: list[str], cfg: EvalConfig,
                     stop: tuple[str, ...], seed: int) -> list[str]:
    """One sampled (or greedy) continuation per prompt with ``stepcoder.rollout``."""
    import torch  # lazy: `stepcoder score` and --help import this room without torch

    from stepcoder.rollout import generate_completions  # lazy: torch (as above)

    sampling = SamplingConfig(n=1, temperature=cfg.temperature, top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens,
                              stop=list(stop), greedy=cfg.greedy, batch_size=len(prompts), seed=seed)
    torch.manual_seed(seed)  # in case the sampler draws from the global stream
    return [group[0].text for group in generate_completions(model, tokenizer, prompts, sampling)]


def generate_batch(model: Any, tokenizer: Any, problems: Sequence[Problem], batch: list[SampleSlot],
                   cfg: EvalConfig, pcfg: PromptConfig, generate: GenerateFn | None = None) -> list[dict[str, Any]]:
    """Generate one planned batch with the prompt settings ``pcfg`` (:func:`prompt_config`);
    one record per slot: task_id, sample_idx, completion, program.

    A batch mixes problems, so stop sequences are the union of theirs (``batch_stops``); each
    completion is then cut by its own problem's rules.
    """
    generate = generate or rollout_generate
    first = problems[batch[0].problem_index]
    prompts = [make_prompt(problems[slot.problem_index], "", pcfg, tokenizer) for slot in batch]
    texts = generate(model, tokenizer, [p.text for p in prompts], cfg, batch_stops(prompts),
                     batch_seed(cfg.seed, first.id, batch[0].sample_idx))
    records = []
    for slot, prompt, text in zip(batch, prompts, texts, strict=True):
        completion = prompt.completion(text, pcfg, tokenizer)
        records.append({"task_id": problems[slot.problem_index].id, "sample_idx": slot.sample_idx,
                        "completion": completion, "program": prompt.program(completion)})
    return records
