"""Configuration of the policy, critic and reference models."""

from __future__ import annotations

from dataclasses import dataclass, field

DTYPES = ("float32", "bfloat16", "auto")


@dataclass
class ModelConfig:
    """Which checkpoint to train and how to wrap it (LoRA, checkpointing, critic)."""

    name_or_path: str = field(default="tiny", metadata={
        "help": "'tiny' (random init, built offline), 'tiny-sft' (the shipped tiny warm start), 'gemma-3-270m' (packaged weights, extra [gemma]), "
                "a local Hugging Face folder, or a hub id when online"})
    dtype: str = field(default="float32", metadata={
        "help": "weight dtype: float32, bfloat16 or auto (the checkpoint's own)"})
    lora_r: int = field(default=0, metadata={"help": "LoRA rank; 0 trains all weights"})
    lora_alpha: float = field(default=16.0, metadata={"help": "LoRA scaling numerator (scale = alpha / r)"})
    lora_dropout: float = field(default=0.0, metadata={"help": "dropout on the LoRA branch"})
    lora_target_modules: str = field(default="all-linear", metadata={
        "help": "'all-linear' or a comma-separated list of module names (q_proj,v_proj)"})
    gradient_checkpointing: bool = field(default=False, metadata={
        "help": "recompute activations in the backward pass to save memory"})
    autocast_bf16: bool = field(default=False, metadata={
        "help": "compute forward passes in bfloat16 autocast on GPU (weights stay float32); in training "
                "the same as training.mixed_precision=bf16, which is the switch the trainer reads"})
    critic_name_or_path: str | None = field(default=None, metadata={
        "help": "checkpoint of the critic backbone; default: the policy checkpoint (paper §1)"})
    critic_shares_backbone: bool = field(default=False, metadata={
        "help": "critic reuses the policy's backbone (one copy) instead of its own weights; the value "
                "loss then trains only the value head unless critic_backbone_loss_coef > 0"})
    critic_backbone_loss_coef: float = field(default=0.0, metadata={
        "help": "with critic_shares_backbone: weight of the value loss's gradient in the shared body "
                "(0 = none: the policy's weights are trained by the policy loss alone)"})
    trust_remote_code: bool = field(default=False, metadata={
        "help": "allow model code from the checkpoint folder (hub models with custom code)"})

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r}: must be one of {DTYPES}")
        if self.lora_r < 0:
            raise ValueError(f"lora_r={self.lora_r}: must be >= 0 (0 disables LoRA)")
        if self.lora_r > 0 and self.lora_alpha <= 0:
            raise ValueError(f"lora_alpha={self.lora_alpha}: must be > 0, the LoRA update is scaled by alpha / r")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(f"lora_dropout={self.lora_dropout}: must be in [0, 1)")
        if self.critic_backbone_loss_coef < 0 or (self.critic_backbone_loss_coef > 0 and not self.critic_shares_backbone):
            raise ValueError(f"critic_backbone_loss_coef={self.critic_backbone_loss_coef}: must be >= 0, and > 0 only "
                             "with critic_shares_backbone=True (a critic with its own body always trains it)")
        if self.critic_shares_backbone and self.critic_name_or_path is not None:
            raise ValueError("critic_shares_backbone=True reuses the policy's backbone, so "
                             f"critic_name_or_path={self.critic_name_or_path!r} would be ignored; set one of them")
        if self.autocast_bf16 and self.dtype == "bfloat16":
            raise ValueError("autocast_bf16 computes in bfloat16 over float32 weights; with dtype=bfloat16 "
                             "the weights are already bfloat16: choose one")

    @property
    def use_lora(self) -> bool:
        return self.lora_r > 0

    def target_modules(self) -> str | list[str]:
        """The peft ``target_modules`` value."""
        if self.lora_target_modules == "all-linear":
            return "all-linear"
        return [name.strip() for name in self.lora_target_modules.split(",") if name.strip()]
