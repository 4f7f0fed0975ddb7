"""Rollouts: batched sampling of completions with their token ids, text and char offsets."""

from stepcoder.rollout.config import SamplingConfig
from stepcoder.rollout.offsets import token_char_offsets

__all__ = ["SamplingConfig", "Completion", "generate_completions", "token_char_offsets"]


def __getattr__(name: str):
    # torch loads only when generation is used, so that the config imports cheaply.
    if name in ("Completion", "generate_completions"):
        from stepcoder.rollout import generate  # lazy: torch, only when generation is used

        return getattr(generate, name)
    raise AttributeError(name)
