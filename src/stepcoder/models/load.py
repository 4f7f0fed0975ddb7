"""Loading the tokenizer and the policy (optionally with LoRA and gradient checkpointing)."""

from __future__ import annotations

import contextlib
import logging

import torch
from torch import nn

from stepcoder.models.config import ModelConfig
from stepcoder.models.paths import resolve_model_path

logger = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "auto": "auto"}


def torch_dtype(cfg: ModelConfig) -> torch.dtype | str:
    return _DTYPES[cfg.dtype]


def load_tokenizer(cfg: ModelConfig):
    """The checkpoint's tokenizer, padding on the left (generation appends on the right).

    A missing pad token becomes the eos token (logged); an existing one is never replaced.
    """
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_model_path(cfg.name_or_path),
                                        trust_remote_code=cfg.trust_remote_code)
    tok.padding_side = "left"
    if tok.pad_token is None:
        if tok.eos_token is None:
            raise ValueError(f"tokenizer of {cfg.name_or_path!r} has neither a pad nor an eos token")
        logger.warning("tokenizer of %s has no pad token: padding with eos %r", cfg.name_or_path, tok.eos_token)
        tok.pad_token = tok.eos_token
    return tok


def load_policy(cfg: ModelConfig) -> nn.Module:
    """The causal LM to train: a peft ``PeftModel`` when ``cfg.lora_r > 0``, else the model."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(resolve_model_path(cfg.name_or_path), dtype=torch_dtype(cfg),
                                                 trust_remote_code=cfg.trust_remote_code)
    return prepare_for_training(model, cfg, task_type="CAUSAL_LM")


def prepare_for_training(model: nn.Module, cfg: ModelConfig, task_type: str) -> nn.Module:
    """Gradient checkpointing and LoRA as ``cfg`` asks (shared by the policy and the critic)."""
    if cfg.gradient_checkpointing:
        # Non-reentrant checkpointing works with frozen base weights (LoRA) without
        # enable_input_require_grads, and is the variant torch recommends.
        kwargs = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):  # the transformers 5 name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        model.config.use_cache = False
    if cfg.use_lora:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules=cfg.target_modules(), task_type=task_type)
        model = get_peft_model(model, lora)
    return model


def is_peft(model: nn.Module) -> bool:
    try:
        from peft import PeftModel
    except ImportError:  # peft is part of the [train] extra, but the check must not need it
        return False
    return isinstance(model, PeftModel)


def decoder_of(model: nn.Module) -> nn.Module:
    """The transformer body (no LM head) of a causal LM or of a peft-wrapped one; with LoRA
    the returned module holds the injected adapters."""
    if is_peft(model):
        model = model.get_base_model()
    return model.base_model


def autocast(cfg: ModelConfig, device: torch.device | str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to bfloat16 when ``cfg.autocast_bf16`` and ``device`` is a GPU, else a
    no-op (CPU autocast is slow and changes results, so it is never used implicitly). The
    trainer does not use this: it runs under accelerate's ``training.mixed_precision``, which
    ``TrainConfig`` sets to ``bf16`` when ``autocast_bf16`` is true."""
    if cfg.autocast_bf16 and torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
