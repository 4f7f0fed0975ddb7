"""The gemma-3-270m presets (CPU and GPU) load and validate through TrainConfig, and the
gemma tokenizer gives the character offsets FGO needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepcoder.config import load_yaml
from stepcoder.trainer.config import PRESET_DIR, TrainConfig, resolve_config_path

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
NAMES = ("gemma-270m-apps-plus", "gemma-270m-apps-plus-gpu")


@pytest.mark.parametrize("name", NAMES)
def test_repo_file_and_packaged_preset_are_the_same(name):
    repo_file = REPO_CONFIGS / f"{name}.yaml"
    assert repo_file.read_text() == (PRESET_DIR / f"{name}.yaml").read_text()
    # the preset name resolves to the packaged copy, which the wheel ships
    assert Path(resolve_config_path(name)) == PRESET_DIR / f"{name}.yaml"


@pytest.mark.parametrize("name", NAMES)
def test_preset_is_stepcoder_on_apps_plus_with_gemma(name):
    cfg = load_yaml(TrainConfig, REPO_CONFIGS / f"{name}.yaml")
    assert cfg.model.name_or_path == "gemma-3-270m"
    assert cfg.data.format == "apps-plus"
    # StepCoder = PPO with a critic + CCCS + FGO; base model, so a completion-style prompt
    assert cfg.ppo.advantage == "gae" and cfg.fgo.enabled and cfg.sandbox.coverage
    assert cfg.curriculum.enabled and cfg.curriculum.start_stage == "auto"
    assert cfg.prompt.template == "plain"
    assert (cfg.ppo.kl_beta, cfg.sampling.temperature, cfg.sampling.top_p) == (0.05, 0.8, 0.9)
    rollouts = cfg.training.problems_per_step * cfg.sampling.n
    assert rollouts % cfg.ppo.minibatch_size == 0


def test_cpu_preset_is_sized_for_a_cpu():
    cfg = load_yaml(TrainConfig, resolve_config_path("gemma-270m-apps-plus"))
    assert cfg.training.cpu and cfg.training.mixed_precision == "no"
    assert cfg.model.use_lora and cfg.model.dtype == "float32"
    assert cfg.sampling.max_new_tokens <= 128
    assert 2 <= cfg.training.problems_per_step <= 4 and cfg.sampling.n == 4
    # 2 problems x 4 rollouts = 8 rollouts in minibatches of 4: two optimizer steps a step
    assert cfg.training.problems_per_step * cfg.sampling.n // cfg.ppo.minibatch_size == 2 * 4 // 4


def test_gpu_preset_uses_bf16_and_paper_rollout_sizes():
    cfg = load_yaml(TrainConfig, resolve_config_path("gemma-270m-apps-plus-gpu"))
    assert not cfg.training.cpu and cfg.training.mixed_precision == "bf16"
    assert cfg.model.dtype == "float32"  # bf16 compute over float32 master weights
    assert cfg.sampling.n == 16
    assert 512 <= cfg.sampling.max_new_tokens <= 1024
    assert cfg.training.problems_per_step * cfg.sampling.n > 8  # bigger than the CPU batch


@pytest.mark.parametrize("name", NAMES)
def test_data_paths_are_overridden_on_the_command_line(name):
    from stepcoder.cli import build_parser
    from stepcoder.commands.train import ablation_overrides
    from stepcoder.commands.training_args import resolve_train_config

    args = build_parser().parse_args(["train", "--config", name, "--data.train_path", "mine/train.json",
                                      "--data.heldout_path", "mine/valid.json", "--output-dir", "out"])
    cfg = resolve_train_config(args, **ablation_overrides(args))
    assert (cfg.data.train_path, cfg.data.heldout_path) == ("mine/train.json", "mine/valid.json")
    assert cfg.training.output_dir == "out"
    assert cfg.model.name_or_path == "gemma-3-270m"  # the rest still comes from the preset


@pytest.mark.slow
def test_gemma_offsets_agree_with_the_tokenizer_offset_mapping(gemma_tokenizer):
    from stepcoder.rollout import token_char_offsets

    tok = gemma_tokenizer
    program = "def f(x):\n    if x > 0:\n        return 'é' + str(x)  # ünï\n    return -x\n"
    enc = tok(program, return_offsets_mapping=True, add_special_tokens=False)
    ids, hf_offsets = enc["input_ids"], [tuple(o) for o in enc["offset_mapping"]]
    assert tok.decode(ids) == program
    assert token_char_offsets(tok, ids) == hf_offsets
    # the spans tile the program, so every token maps to the line(s) FGO looks up
    assert "".join(program[s:e] for s, e in hf_offsets) == program
    assert tok.pad_token_id is not None and tok.padding_side == "left"
