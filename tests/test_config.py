"""Config machinery: YAML round trip, precedence, error messages, generated --help."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from stepcoder.config import (
    ConfigError,
    add_config_arguments,
    config_from_dict,
    config_to_dict,
    load_yaml,
    parse_config,
    save_yaml,
)


@dataclass
class OptimConfig:
    """Optimiser settings of the policy."""

    lr: float = field(default=5e-7, metadata={"help": "Policy learning rate (paper: 5e-7)."})
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95], metadata={"help": "Adam betas."})
    warmup_steps: int = field(default=0, metadata={"help": "Linear warm-up steps."})


@dataclass
class PPOConfig:
    """PPO hyper-parameters."""

    clip_eps: float = field(default=0.2, metadata={"help": "Policy ratio clip (100% = no clip is not allowed)."})
    min_batch: int = field(default=2, metadata={"help": "Smallest minibatch."})
    max_batch: int = field(default=8, metadata={"help": "Largest minibatch."})
    loss_agg: Literal["token-mean", "seq-mean-token-mean"] = field(
        default="token-mean", metadata={"help": "How per-token losses are reduced."}
    )

    def __post_init__(self) -> None:
        if self.min_batch > self.max_batch:
            raise ValueError(f"min_batch ({self.min_batch}) must be <= max_batch ({self.max_batch})")


@dataclass
class TrainConfig:
    """Top-level training config."""

    model: str = field(default="tiny", metadata={"help": "Model name or path."})
    seed: int = field(default=0, metadata={"help": "Random seed."})
    fgo: bool = field(default=True, metadata={"help": "Mask unexecuted code out of the policy loss."})
    max_steps: int | None = field(default=None, metadata={"help": "Stop after this many steps."})
    ppo: PPOConfig = field(default_factory=PPOConfig, metadata={"help": "PPO section."})
    optim: OptimConfig = field(default_factory=OptimConfig, metadata={"help": "Optimiser section."})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_yaml_round_trip(tmp_path):
    cfg = TrainConfig(model="m", seed=3, fgo=False, max_steps=7, ppo=PPOConfig(clip_eps=0.1, loss_agg="seq-mean-token-mean"))
    cfg.optim.betas = [0.8, 0.9]
    save_yaml(cfg, tmp_path / "out" / "config.yaml")
    assert load_yaml(TrainConfig, tmp_path / "out" / "config.yaml") == cfg
    assert config_to_dict(cfg)["ppo"] == {"clip_eps": 0.1, "min_batch": 2, "max_batch": 8, "loss_agg": "seq-mean-token-mean"}
    assert config_from_dict(TrainConfig, config_to_dict(cfg)) == cfg


def test_missing_keys_take_defaults_and_sections_nest():
    cfg = config_from_dict(TrainConfig, {"ppo": {"clip_eps": 0.3}})
    assert cfg.ppo == PPOConfig(clip_eps=0.3)
    assert cfg.optim == OptimConfig()
    assert config_from_dict(TrainConfig, {}) == TrainConfig()


def test_precedence_defaults_then_yaml_then_flags(tmp_path):
    path = write(tmp_path, "seed: 5\nppo:\n  clip_eps: 0.1\noptim:\n  lr: 1.0e-6\n")
    cfg = parse_config(TrainConfig, ["--config", str(path), "--ppo.clip_eps", "0.3", "--fgo", "false"])
    assert cfg.seed == 5  # YAML over default
    assert cfg.ppo.clip_eps == 0.3  # flag over YAML
    assert cfg.optim.lr == 1e-6  # YAML, untouched by flags
    assert cfg.fgo is False  # flag over default
    assert cfg.optim.warmup_steps == 0  # default
    assert parse_config(TrainConfig, ["--ppo.clip_eps", "0.3"], config_path=path).seed == 5


def test_parse_config_from_a_command_parser_namespace(tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default="runs/x")
    add_config_arguments(parser, TrainConfig)
    ns = parser.parse_args(["--output", "o", "--max_steps", "none", "--optim.betas", "0.5", "0.6"])
    cfg = parse_config(TrainConfig, ns)
    assert cfg.max_steps is None and cfg.optim.betas == [0.5, 0.6] and ns.output == "o"
    assert parse_config(TrainConfig, parser.parse_args(["--max_steps", "12"])).max_steps == 12


def test_prefixed_flags():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, PPOConfig, prefix="ppo.")
    cfg = parse_config(PPOConfig, parser.parse_args(["--ppo.max_batch", "16"]), prefix="ppo.")
    assert cfg == PPOConfig(max_batch=16)


def test_post_init_runs_once_on_merged_values(tmp_path):
    # YAML alone violates min_batch <= max_batch; the flag repairs it, so no error.
    path = write(tmp_path, "ppo:\n  min_batch: 16\n")
    assert parse_config(TrainConfig, ["--config", str(path), "--ppo.max_batch", "32"]).ppo.min_batch == 16
    with pytest.raises(ConfigError, match=r"min_batch \(16\) must be <= max_batch \(8\)"):
        parse_config(TrainConfig, ["--config", str(path)])


def test_unknown_key_names_key_section_source_and_guess(tmp_path):
    path = write(tmp_path, "ppo:\n  clip_esp: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_yaml(TrainConfig, path)
    message = str(err.value)
    assert str(path) in message
    assert "unknown key 'clip_esp' in section 'ppo'" in message
    assert "did you mean 'clip_eps'?" in message
    with pytest.raises(ConfigError, match="unknown key 'sed' in the top level.*did you mean 'seed'"):
        config_from_dict(TrainConfig, {"sed": 1})


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"seed": "abc"}, "seed: expected int, got 'abc'"),
        ({"seed": 1.5}, "seed: expected int, got 1.5"),
        ({"fgo": "maybe"}, "fgo: expected bool"),
        ({"model": 3}, "model: expected str, got 3"),
        ({"ppo": {"loss_agg": "sum"}}, "ppo.loss_agg: expected one of 'token-mean', 'seq-mean-token-mean'"),
        ({"optim": {"betas": 0.9}}, "optim.betas: expected list of float"),
        ({"ppo": 3}, "section 'ppo' must be a mapping"),
    ],
)
def test_type_errors_name_field_and_type(data, needle):
    with pytest.raises(ConfigError, match=None) as err:
        config_from_dict(TrainConfig, data, source="c.yaml")
    assert needle in str(err.value)


def test_coercions(tmp_path):
    # PyYAML reads `5e-7` as a string (YAML 1.1 wants a dot); it must still be a float.
    path = write(tmp_path, "optim:\n  lr: 5e-7\n  warmup_steps: 1e2\nmax_steps: null\nfgo: no\n")
    cfg = load_yaml(TrainConfig, path)
    assert cfg.optim.lr == 5e-7 and cfg.optim.warmup_steps == 100
    assert cfg.max_steps is None and cfg.fgo is False


def test_bad_flag_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit):
        parse_config(TrainConfig, ["--seed", "x"])
    assert "expected int, got 'x'" in capsys.readouterr().err


def test_help_shows_field_help_defaults_and_section_docstrings():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, TrainConfig)
    text = parser.format_help()
    assert "--ppo.clip_eps" in text and "Policy ratio clip (100% = no clip is not allowed)." in text
    assert "(default: 0.2)" in text
    assert "--fgo {true,false}" in text
    assert "--optim.lr" in text and "Policy learning rate (paper: 5e-7)." in text
    assert "PPO hyper-parameters." in text and "Optimiser settings of the policy." in text
    assert "--config FILE" in text
