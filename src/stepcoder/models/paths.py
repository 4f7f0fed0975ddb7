"""Where model names point: the tiny model and the packaged real models (gemma-3-270m,
SmolLM2-135M-Instruct) are built once into a cache folder; anything else is passed to
``from_pretrained`` as given."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from stepcoder.models import tiny
from stepcoder.models.cache import build_atomically, cache_root
from stepcoder.models.gemma import gemma_path
from stepcoder.models.smollm2 import smollm2_path

TINY = "tiny"
TINY_SFT = "tiny-sft"  # the shipped warm start: the tiny model after SFT (stepcoder.models.tiny)
GEMMA = "gemma-3-270m"
SMOLLM2 = "smollm2-135m"
TINY_SEED = 0


def resolve_model_path(name: str) -> str:
    """A folder or hub id that ``from_pretrained`` accepts for ``name``."""
    if name == TINY:
        return str(_tiny_path())
    if name == TINY_SFT:
        return str(_tiny_sft_path())
    if name == GEMMA:
        return str(gemma_path(cache_root() / "models" / GEMMA))
    if name == SMOLLM2:
        return str(smollm2_path(cache_root() / "models" / SMOLLM2))
    return name


PACKAGED = (TINY, TINY_SFT, GEMMA, SMOLLM2)


def check_model_name(name: str, what: str = "model") -> None:
    """Fail before anything loads when ``name`` is meant as a local folder that does not exist.
    A ``namespace/name`` string may be a Hub id: that one is left to Hugging Face, whose
    OSError for an unknown id names it."""
    if name in PACKAGED or Path(name).expanduser().exists() or not _looks_local(name):
        return
    raise FileNotFoundError(f"{what} {name!r}: no such folder (a model folder, e.g. written by `stepcoder sft`, "
                            f"one of {', '.join(PACKAGED)}, or a Hugging Face Hub id such as 'google/gemma-3-270m')")


def _looks_local(name: str) -> bool:
    """A Hub id is 'name' or 'namespace/name'; an absolute path, '~', '.', '..' or two slashes is a path."""
    return (os.path.isabs(name) or name.startswith(("~", ".")) or name.count("/") > 1
            or (os.sep != "/" and os.sep in name))


def _tiny_fingerprint(*extra: bytes) -> str:
    # The folder name fingerprints the tokenizer and architecture (and, for the warm start, its
    # shipped files), so that retraining the shipped tokenizer, resizing the model or shipping
    # new weights never reuses a stale cached build.
    digest = hashlib.sha256()
    digest.update((tiny.TOKENIZER_DIR / "tokenizer.json").read_bytes())
    digest.update(repr(tiny.tiny_model_config(tiny.TINY_VOCAB_SIZE, 1, 2, 0).to_dict()).encode())
    for part in extra:
        digest.update(part)
    return digest.hexdigest()[:12]


def _tiny_path() -> Path:
    out = cache_root() / "models" / TINY / _tiny_fingerprint(str(TINY_SEED).encode())
    return build_atomically(out, lambda tmp: tiny.build_tiny_model(tmp, seed=TINY_SEED))


def _tiny_sft_path() -> Path:
    shipped = [(tiny.WARM_START_DIR / name).read_bytes() for name in tiny.WARM_START_FILES]
    out = cache_root() / "models" / TINY_SFT / _tiny_fingerprint(*shipped)
    return build_atomically(out, tiny.build_tiny_warm_start)
