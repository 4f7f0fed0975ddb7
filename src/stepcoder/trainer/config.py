"""The root training config: one section per component, each a dataclass whose fields carry
their ``--help``. Precedence: defaults < YAML preset (``--config``) < ``--section.field``.

Light to import (no torch): the command line is generated from it before any model loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stepcoder.curriculum.cccs import CurriculumConfig
from stepcoder.prompts import PromptConfig
from stepcoder.models.config import ModelConfig
from stepcoder.rl.rewards import RewardConfig
from stepcoder.rollout.config import SamplingConfig
from stepcoder.sandbox.config import SandboxConfig
from stepcoder.trainer.ppo_config import DataConfig, FGOConfig, PPOConfig, SFTConfig, TrainingConfig

PRESET_DIR = Path(__file__).resolve().parents[1] / "configs"
MIXED_PRECISION = ("no", "fp16", "bf16")


@dataclass
class TrainConfig:
    """Everything a run needs (SFT and PPO read the same file)."""

    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "policy, critic and reference models"})
    sampling: SamplingConfig = field(default_factory=SamplingConfig, metadata={"help": "rollout sampling"})
    prompt: PromptConfig = field(default_factory=PromptConfig, metadata={"help": "prompt template and stop rules"})
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig, metadata={"help": "CCCS curriculum"})
    fgo: FGOConfig = field(default_factory=FGOConfig, metadata={"help": "FGO masking"})
    sandbox: SandboxConfig = field(default_factory=SandboxConfig, metadata={"help": "program execution"})
    reward: RewardConfig = field(default_factory=RewardConfig, metadata={"help": "reward per verdict"})
    ppo: PPOConfig = field(default_factory=PPOConfig, metadata={"help": "PPO update"})
    data: DataConfig = field(default_factory=DataConfig, metadata={"help": "problem sets"})
    training: TrainingConfig = field(default_factory=TrainingConfig, metadata={"help": "run length, seeds, logging"})
    sft: SFTConfig = field(default_factory=SFTConfig, metadata={"help": "supervised warm start"})

    def __post_init__(self) -> None:
        rollouts = self.training.problems_per_step * self.sampling.n
        if rollouts % self.ppo.minibatch_size:
            raise ValueError(
                f"ppo.minibatch_size={self.ppo.minibatch_size} must divide the rollout batch "
                f"training.problems_per_step x sampling.n = {self.training.problems_per_step} x {self.sampling.n} "
                f"= {rollouts}, so every minibatch has the same size")
        if self.ppo.advantage == "group" and self.sampling.n < 2:
            raise ValueError(f"ppo.advantage='group' compares the rollouts of one problem: it needs sampling.n >= 2, "
                             f"got {self.sampling.n}")
        if self.fgo.enabled and not self.sandbox.coverage:
            raise ValueError("fgo.enabled needs the executed lines of each program: set sandbox.coverage true "
                             "(or fgo.enabled false)")
        if self.ppo.update_critic_with_fgo and self.ppo.advantage == "group":
            raise ValueError("ppo.update_critic_with_fgo has no effect with ppo.advantage='group' (no critic)")
        self._resolve_mixed_precision()

    def _resolve_mixed_precision(self) -> None:
        """One switch decides mixed precision: accelerate's ``training.mixed_precision``.
        ``model.autocast_bf16: true`` is a shorthand for ``bf16`` there; it is an error next to
        ``fp16`` rather than one of the two being ignored."""
        mode = self.training.mixed_precision
        if mode not in MIXED_PRECISION:
            raise ValueError(f"training.mixed_precision={mode!r}: must be one of {', '.join(MIXED_PRECISION)}")
        if not self.model.autocast_bf16:
            return
        if mode == "fp16":
            raise ValueError("model.autocast_bf16=true asks for bfloat16 autocast but training.mixed_precision='fp16' "
                             "asks for float16: set one of them (training.mixed_precision is the switch the trainer reads)")
        self.training.mixed_precision = "bf16"


def resolve_config_path(name: str | None) -> str | None:
    """A YAML file path for ``--config``: an existing file, or a preset name such as ``tiny``
    (the presets shipped in ``stepcoder/configs/``)."""
    if name is None or Path(name).is_file():
        return name
    preset = PRESET_DIR / f"{name.removesuffix('.yaml')}.yaml"
    if preset.is_file():
        return str(preset)
    known = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"--config {name!r}: no such file and no preset of that name (presets: {known})")
