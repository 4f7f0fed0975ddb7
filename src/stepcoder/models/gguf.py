"""Packaged GGUF weights -> an ordinary float32 Hugging Face folder (gemma-3-270m, SmolLM2):
transformers dequantises the file once; the saved folder then reloads in seconds."""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


def save_gguf_as_hf(gguf_dir: Path, gguf_name: str, out_dir: Path) -> None:
    """Load ``gguf_dir/gguf_name`` with transformers (offline) and save model + tokenizer to
    ``out_dir`` as a normal float32 checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("dequantising %s (under a minute)", gguf_name)
    # The weights are on disk already; the hub must not be consulted.
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=gguf_name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf_dir), gguf_file=gguf_name, dtype=torch.float32)
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous
    # The dequantised weights are plain float32: drop the GGUF quantizer so that
    # save_pretrained writes an ordinary checkpoint (reload ~2-3 s instead of 16-40 s).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
