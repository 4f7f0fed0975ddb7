"""Prompts for training and evaluation alike: templates, CCCS prefix placement at a token
boundary, stop rules, and turning a model's output back into a program."""

from __future__ import annotations

from stepcoder.prompts.boundary import heal_prefix
from stepcoder.prompts.carried import PROMPT_FILE, load_prompt_config, prompt_config_for, save_prompt_config
from stepcoder.prompts.completion_form import HUMANEVAL_STOP, uses_completion_form
from stepcoder.prompts.prompt import Prompt, batch_stops, make_prompt
from stepcoder.prompts.templates import (
    FENCED_TEMPLATES,
    PromptConfig,
    build_prompt,
    completion_stop_index,
    extract_completion,
    resolve_template,
)

__all__ = [
    "FENCED_TEMPLATES",
    "HUMANEVAL_STOP",
    "PROMPT_FILE",
    "Prompt",
    "PromptConfig",
    "batch_stops",
    "build_prompt",
    "completion_stop_index",
    "extract_completion",
    "heal_prefix",
    "load_prompt_config",
    "make_prompt",
    "prompt_config_for",
    "resolve_template",
    "save_prompt_config",
    "uses_completion_form",
]
