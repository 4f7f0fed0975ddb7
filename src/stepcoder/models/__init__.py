"""Models: the policy, its tokenizer, the critic (value head) and the reference policy; the
tiny default model; per-token log-prob, entropy and value forward passes."""

from stepcoder.models.config import ModelConfig
from stepcoder.models.cache import cache_root
from stepcoder.models.paths import resolve_model_path

__all__ = ["ModelConfig", "cache_root", "resolve_model_path", "load_tokenizer", "load_policy", "load_critic",
           "Critic", "ReferencePolicy", "token_logprobs", "critic_values", "autocast"]

_LAZY = {
    "load_tokenizer": "stepcoder.models.load", "load_policy": "stepcoder.models.load",
    "autocast": "stepcoder.models.load", "load_critic": "stepcoder.models.critic",
    "Critic": "stepcoder.models.critic", "ReferencePolicy": "stepcoder.models.reference",
    "token_logprobs": "stepcoder.models.forward", "critic_values": "stepcoder.models.forward",
}


def __getattr__(name: str):
    # torch and transformers load only when a model function is used, so that importing the
    # config (e.g. to build the CLI) stays fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
