"""The model cache: ``$STEPCODER_CACHE`` (default ``~/.cache/stepcoder``) and the one way a
cached model folder is written (``build_atomically``), shared by every packaged model's
builder."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

logger = logging.getLogger(__name__)


def cache_root() -> Path:
    """``$STEPCODER_CACHE`` or ``~/.cache/stepcoder``."""
    return Path(os.environ.get("STEPCODER_CACHE") or Path.home() / ".cache" / "stepcoder")


def _replace_incomplete(out: Path) -> None:
    """Remove a folder at ``out`` that holds no ``config.json``: it is not a finished build
    (e.g. files written there by an older version or by hand), and ``os.rename`` cannot
    replace a non-empty folder."""
    if out.is_dir() and not (out / "config.json").exists():
        logger.warning("replacing incomplete model folder %s", out)
        shutil.rmtree(out, ignore_errors=True)


def build_atomically(out: Path, build: Callable[[Path], object]) -> Path:
    """Run ``build(tmp_dir)`` and rename the result to ``out`` unless ``out`` exists; an
    interrupted or concurrent build never leaves a half-written folder at ``out``."""
    if (out / "config.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        build(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary shared folder
        try:
            _replace_incomplete(out)
            os.rename(tmp, out)
        except OSError:  # another process finished first: keep its folder
            if not (out / "config.json").exists():
                raise
        else:
            logger.info("built %s", out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out
