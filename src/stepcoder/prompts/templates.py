"""Prompt templates: the task as the model reads it, then the CCCS prefix that it continues,
and the rules that cut a model's output back to program text. Training (SFT, PPO) and
evaluation build every prompt here, so a model is measured on the format it was trained on.

The executed program is always ``prefix + completion``. The prefix is canonical-solution text
(whole lines, possibly empty), so with an empty prefix the model writes the whole program,
``def`` line included; the starter code (the function header of call-based and APPS+ stdin
problems) is shown in the task text only, as a hint. It is never part of the program unless
the model writes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stepcoder.problems.types import Problem

# System prompt of DeepSeek-Coder-Instruct, as its tokenizer's chat template writes it
# (no final period); the paper's backbone is DeepSeek-Coder-Instruct-6.7B (StepCoder §4).
DEEPSEEK_SYSTEM = (
    "You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek "
    "Company, and you only answer questions related to computer science. For politically sensitive "
    "questions, security and privacy issues, and other non-computer science questions, you will refuse "
    "to answer"
)
NAMED_TEMPLATES = ("auto", "deepseek-instruct", "chat", "plain")
DEFAULT_INSTRUCTION = (
    "Write a complete Python program that solves the task below. "
    "Answer with the whole program in one ```python code block."
)
CODE_FENCE_OPEN = "```python\n"
# A closing fence: three backticks at the start of a line (never valid Python there).
_CLOSING_FENCE = re.compile(r"^```", re.MULTILINE)

# Templates that open a ```python block: the closing fence ends the completion.
FENCED_TEMPLATES = ("deepseek-instruct", "chat")
CLOSING_FENCE_STOP = "\n```"

DEFAULT_STOPS: dict[str, tuple[str, ...]] = {
    "deepseek-instruct": ("<|EOT|>", "\n### Instruction:"),
    "chat": ("<|EOT|>", "\n### Instruction:"),
    "plain": ("\n# Task:",),
    "custom": (),
}


@dataclass
class PromptConfig:
    """How a problem and its CCCS prefix become the text the policy continues."""

    template: str = field(
        default="auto",
        metadata={
            "help": "'auto' (the tokenizer's chat template if it has one, else deepseek-instruct), "
            "'deepseek-instruct', 'chat', 'plain' (task as a comment block; for base and tiny models), "
            "or a format string with {prompt}, {starter_code} and, last, {prefix}."
        },
    )
    instruction: str = field(
        default=DEFAULT_INSTRUCTION,
        metadata={"help": "First line of the user turn for the instruction templates (deepseek-instruct, chat)."},
    )
    stop: tuple[str, ...] | None = field(
        default=None,
        metadata={"help": "Stop sequences cutting the completion (None = the template's defaults); a closing ``` fence always cuts."},
    )

    def __post_init__(self) -> None:
        if self.template not in NAMED_TEMPLATES:
            if "{prompt}" not in self.template:
                raise ValueError(f"custom template {self.template!r} must contain {{prompt}}")
            if "{prefix}" in self.template and not self.template.endswith("{prefix}"):
                # The model continues the prefix, so nothing may come after it.
                raise ValueError(f"custom template {self.template!r}: {{prefix}} must come last")
        if self.stop is not None:
            self.stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    def stop_sequences(self, tokenizer: Any = None) -> tuple[str, ...]:
        """The stop sequences in force for this template (and tokenizer, for 'auto'): the
        configured or default ones, plus the closing fence for templates that open one
        (training and evaluation stop sampling at the same places)."""
        kind = resolve_template(self, tokenizer)
        stops = self.stop if self.stop is not None else DEFAULT_STOPS[kind if kind in DEFAULT_STOPS else "custom"]
        if kind in FENCED_TEMPLATES:
            stops = (*stops, CLOSING_FENCE_STOP)
        return tuple(dict.fromkeys(s for s in stops if s))


def resolve_template(config: PromptConfig, tokenizer: Any = None) -> str:
    """The template actually used: 'auto' becomes 'chat' when the tokenizer has a chat
    template, else 'deepseek-instruct'; a custom format string is 'custom'."""
    if config.template == "auto":
        return "chat" if getattr(tokenizer, "chat_template", None) else "deepseek-instruct"
    return config.template if config.template in NAMED_TEMPLATES else "custom"


def task_text(problem: Problem) -> str:
    """The task as the model reads it: the problem's prompt, plus its starter code when the
    prompt does not already show it (APPS+ prompts start with the header; APPS ones do not)."""
    prompt = problem.prompt.strip("\n")
    starter = (problem.starter_code or "").strip("\n")
    if starter.strip() and starter.strip() not in prompt:
        prompt += f"\n\nStarter code:\n{starter}"
    return prompt


def _comment_block(text: str) -> str:
    return "\n".join(f"# {line}".rstrip() for line in text.split("\n"))


def build_prompt(problem: Problem, prefix: str, config: PromptConfig | None = None, tokenizer: Any = None) -> str:
    """The text the policy continues: the task in the chosen template, then ``prefix``.

    - deepseek-instruct: DeepSeek-Coder-Instruct's format (system line, ``### Instruction:``,
      ``### Response:``) with an opened ```python fence; no BOS text (the tokenizer adds it).
    - chat: ``tokenizer.apply_chat_template`` of one user turn, generation prompt added, then the
      opened fence. The template may write the BOS token as text: tokenize this prompt with
      ``add_special_tokens=False`` then.
    - plain: ``# Task:`` and the task as comment lines, ``# Solution:``, then the code.
    - a custom format string: ``{prompt}`` (the task text), ``{starter_code}``, ``{prefix}``.
    """
    config = config or PromptConfig()
    kind = resolve_template(config, tokenizer)
    task = task_text(problem)
    if kind == "deepseek-instruct":
        user = f"{config.instruction}\n{task}"
        return f"{DEEPSEEK_SYSTEM}\n### Instruction:\n{user}\n### Response:\n{CODE_FENCE_OPEN}{prefix}"
    if kind == "chat":
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError("template 'chat' needs a tokenizer with a chat_template")
        messages = [{"role": "user", "content": f"{config.instruction}\n{task}"}]
        head = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return f"{head}{CODE_FENCE_OPEN}{prefix}"
    if kind == "plain":
        return f"# Task:\n{_comment_block(task)}\n# Solution:\n{prefix}"
    text = config.template.replace("{prefix}", "")
    text = text.format(prompt=task, starter_code=problem.starter_code or "")
    return text + prefix


def completion_stop_index(text: str, config: PromptConfig | None = None, tokenizer: Any = None) -> int | None:
    """Character index at which the generated ``text`` stops being program text, or None.

    ``text`` is what the model wrote after the prompt (so it continues the prefix). The cut is
    the earliest of: the start of a line that begins with three backticks (the closing code
    fence; the newline before it stays in the program), and the start of any stop sequence.
    """
    config = config or PromptConfig()
    cuts = [m.start() for m in [_CLOSING_FENCE.search(text)] if m]
    # the fence rule above keeps the newline before a closing fence, so its stop string is skipped
    stops = [s for s in config.stop_sequences(tokenizer) if s != CLOSING_FENCE_STOP]
    cuts += [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(cuts) if cuts else None


def extract_completion(text: str, config: PromptConfig | None = None, tokenizer: Any = None) -> str:
    """The program text of a generated continuation: ``text`` up to ``completion_stop_index``.

    Everything after the cut (the closing fence, prose after it, a stop sequence, an
    end-of-turn marker) is dropped. Prose without a fence before it is kept: it is then part
    of the program, and the compile error it causes is the honest reward. Nothing else is
    stripped, so ``extract_completion(t) == t[:completion_stop_index(t)]`` and token offsets
    into ``t`` stay valid for the program ``prefix + completion``.
    """
    cut = completion_stop_index(text, config, tokenizer)
    return text if cut is None else text[:cut]
