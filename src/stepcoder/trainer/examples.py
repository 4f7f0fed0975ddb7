"""Token ids of prompts and SFT targets, in exactly the format PPO samples from.

The SFT target is what a perfect rollout at CCCS stage 0 would be: the canonical solution
after the prompt with an empty prefix, then the template's closing fence (when the prompt
opened one) and EOS. So SFT teaches the very stopping behaviour that PPO's completion
extraction expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepcoder.problems.types import Problem
from stepcoder.prompts import FENCED_TEMPLATES, PromptConfig, make_prompt, resolve_template


def encode_prompt(tokenizer: Any, text: str) -> list[int]:
    """Prompt ids exactly as ``stepcoder.rollout.generate_completions`` encodes them, so the
    SFT model is trained on the token sequences it will be sampled from."""
    return list(tokenizer(text)["input_ids"])


def target_text(problem: Problem, prompt_cfg: PromptConfig, tokenizer: Any) -> str:
    """The canonical program, ending in a newline, then the closing fence for fenced templates."""
    solution = problem.solution or ""
    if not solution.endswith("\n"):
        solution += "\n"
    return solution + ("```" if resolve_template(prompt_cfg, tokenizer) in FENCED_TEMPLATES else "")


@dataclass
class SFTExample:
    """One supervised example; only ``target_ids`` are in the loss."""

    problem_id: str
    prompt_ids: list[int]
    target_ids: list[int]  # program tokens + EOS


def sft_examples(problems: list[Problem], tokenizer: Any, prompt_cfg: PromptConfig, max_length: int) -> list[SFTExample]:
    """Examples of the problems that have a solution and fit in ``max_length`` tokens."""
    out = []
    for problem in problems:
        if not problem.solution:
            continue
        prompt_ids = encode_prompt(tokenizer, make_prompt(problem, "", prompt_cfg, tokenizer).text)
        target_ids = list(tokenizer(target_text(problem, prompt_cfg, tokenizer), add_special_tokens=False)["input_ids"])
        target_ids.append(tokenizer.eos_token_id)
        if len(prompt_ids) + len(target_ids) <= max_length:
            out.append(SFTExample(problem.id, prompt_ids, target_ids))
    return out
