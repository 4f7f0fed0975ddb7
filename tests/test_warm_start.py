"""The shipped tiny warm start (``tiny-sft``): what it is built from, that it is a trained
model, and the pipeline's "no SFT" path (``sft.epochs: 0``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from safetensors.torch import load_file  # noqa: E402

from stepcoder.models import tiny  # noqa: E402
from stepcoder.models.paths import resolve_model_path  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def warm_dir(tmp_path_factory):
    import os

    os.environ["STEPCODER_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    try:
        return resolve_model_path("tiny-sft")
    finally:
        del os.environ["STEPCODER_CACHE"]


def test_built_from_the_shipped_weights_tokenizer_and_prompt(warm_dir):
    from stepcoder.prompts import load_prompt_config

    model = transformers.AutoModelForCausalLM.from_pretrained(warm_dir)
    shipped = load_file(str(tiny.WARM_START_DIR / "model.safetensors"))
    assert next(model.parameters()).dtype == torch.float32
    params = dict(model.named_parameters())
    assert set(shipped) == set(params)  # the tied lm_head is the embedding, stored once
    for name, value in shipped.items():
        assert shipped[name].dtype == torch.bfloat16
        assert torch.equal(params[name].detach(), value.to(torch.float32)), name
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    tok = transformers.AutoTokenizer.from_pretrained(warm_dir)
    assert tok.backend_tokenizer.to_str() == transformers.AutoTokenizer.from_pretrained(
        str(tiny.TOKENIZER_DIR)).backend_tokenizer.to_str()
    assert load_prompt_config(warm_dir).template == "plain"  # the model carries what it was trained with
    provenance = json.loads((tiny.WARM_START_DIR / "provenance.json").read_text())
    assert provenance["sft"]["epochs"] > 0 and provenance["seed"] == 0


@pytest.mark.slow
def test_it_is_a_trained_model(warm_dir, tmp_path):
    """Greedy on 64 held-out problems spread over every family: the warm start solves a good
    share (0.35 on all 1,152, after SFT on demonstrations half of which are wrong), where the
    random-init tiny model solves none."""
    from stepcoder.config import config_from_dict
    from stepcoder.data import tiny_dataset_path
    from stepcoder.problems import load_problems
    from stepcoder.trainer.config import TrainConfig
    from stepcoder.trainer.demo import heldout_eval

    problems = load_problems(tiny_dataset_path("heldout"))[::18]
    cfg = config_from_dict(TrainConfig, {"sandbox": {"workers": 1, "preload": []}, "sampling": {"max_new_tokens": 96}})
    result = heldout_eval(warm_dir, cfg, tmp_path / "eval", problems)
    assert len(result.per_problem) == 64
    assert result.pass_at_1 >= 0.2, result.by_verdict


def test_export_round_trips_through_bfloat16(tmp_path, monkeypatch):
    """An SFT folder exported as the warm start builds back into the same model, rounded to
    bfloat16."""
    sft = tiny.build_tiny_model(tmp_path / "sft", seed=3)
    (sft / "prompt_config.json").write_text(json.dumps({"template": "plain", "instruction": None, "stop": None}))
    monkeypatch.setattr(tiny, "WARM_START_DIR", tmp_path / "shipped")
    tiny.export_warm_start(sft, tmp_path / "shipped")
    built = tiny.build_tiny_warm_start(tmp_path / "built")
    a = transformers.AutoModelForCausalLM.from_pretrained(str(sft))
    b = transformers.AutoModelForCausalLM.from_pretrained(str(built))
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p.detach().to(torch.bfloat16).to(torch.float32), q.detach()), name
    assert (built / "prompt_config.json").read_text() == (sft / "prompt_config.json").read_text()


def test_no_sft_stage_starts_from_the_model_itself(tmp_path):
    from stepcoder.config import config_from_dict
    from stepcoder.trainer.config import TrainConfig
    from stepcoder.trainer.demo import sft_stage

    cfg = config_from_dict(TrainConfig, {"model": {"name_or_path": "tiny-sft"}, "sft": {"epochs": 0}})
    assert sft_stage(cfg, tmp_path / "sft") == "tiny-sft"
    assert not (tmp_path / "sft").exists()
    with pytest.raises(ValueError, match="sft.epochs=-1"):
        config_from_dict(TrainConfig, {"sft": {"epochs": -1}})


def test_sft_command_with_zero_epochs_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stepcoder", "sft", "--config", "tiny", "--sft.epochs", "0",
                           "--output-dir", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "sft.epochs is 0: nothing to train" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_evaluating_it_by_name_uses_the_prompt_it_was_trained_with(warm_dir, monkeypatch, tmp_path):
    """`eval --model tiny-sft` (a packaged name, not a folder) reads the prompt settings the
    warm start carries; the 'auto' default made 1,152 of 1,152 held-out programs compile errors."""
    from stepcoder.eval.config import EvalConfig
    from stepcoder.eval.generation import prompt_config

    monkeypatch.setenv("STEPCODER_CACHE", str(tmp_path / "cache"))
    assert prompt_config(EvalConfig(model="tiny-sft")).template == "plain"
