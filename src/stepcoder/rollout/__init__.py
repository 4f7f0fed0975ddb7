"""Rollouts: batched sampling of completions with their token ids, text and char offsets."""

from stepcoder.rollout.config import SamplingConfig

__all__ = ["SamplingConfig", "Completion", "generate_completions", "token_char_offsets"]


def __getattr__(name: str):
    # torch loads only when generation is used, so that the config imports cheaply.
    if name in ("Completion", "generate_completions"):
        from stepcoder.rollout import generate

        return getattr(generate, name)
    if name == "token_char_offsets":
        from stepcoder.rollout.offsets import token_char_offsets

        return token_char_offsets
    raise AttributeError(name)
