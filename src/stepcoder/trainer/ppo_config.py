"""Trainer-owned component configs: PPO, FGO, data, run bookkeeping and SFT.

The root :class:`~stepcoder.trainer.config.TrainConfig` composes these with the configs of
the other rooms (model, sampling, prompt, curriculum, sandbox, reward).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ADVANTAGES = ("gae", "group")
SCHEDULERS = ("constant", "linear", "cosine")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r}: must be one of {', '.join(choices)}")


def _check_positive(owner: str, **values: float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{owner}.{name}={value}: must be > 0")


@dataclass
class PPOConfig:
    """PPO update. Paper values (StepCoder §4): policy lr 5e-7, critic lr 1.5e-6, beta 0.05;
    gamma, lambda and the clip ranges follow MOSS-RLHF, which the paper does not override."""

    advantage: str = field(default="gae", metadata={"help": "'gae' (critic + GAE, the paper) or 'group' (critic-free, GRPO-style: reward minus the mean of the problem's n rollouts, over their std)"})
    gamma: float = field(default=1.0, metadata={"help": "GAE discount (MOSS-RLHF default; the paper gives none)"})
    lam: float = field(default=0.95, metadata={"help": "GAE lambda (MOSS-RLHF default)"})
    clip_range: float = field(default=0.2, metadata={"help": "PPO policy ratio clip epsilon"})
    value_clip_range: float = field(default=0.2, metadata={"help": "clip of the new value around the old one in the value loss"})
    kl_beta: float = field(default=0.05, metadata={"help": "token-level KL penalty coefficient beta (paper §3.1: 0.05)"})
    ppo_epochs: int = field(default=1, metadata={"help": "passes over each rollout batch"})
    minibatch_size: int = field(default=8, metadata={"help": "rollouts per optimizer step (per process), split into grad_accum micro-batches"})
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per optimizer step; the loss is a token mean over the whole minibatch"})
    policy_lr: float = field(default=5e-7, metadata={"help": "policy learning rate (paper: 5e-7)"})
    critic_lr: float = field(default=1.5e-6, metadata={"help": "critic learning rate (paper: 1.5e-6)"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay of both optimizers"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient norm clip per model (<= 0 disables)"})
    whiten_advantages: bool | None = field(default=None, metadata={"help": "normalise advantages over the batch's loss tokens; default: yes for 'gae', no for 'group' (group advantages are already normalised per problem: whitening again would give a group whose rollouts all pass a non-zero advantage)"})
    whiten_rewards: bool = field(default=False, metadata={"help": "normalise the per-token rewards before GAE"})
    scheduler: str = field(default="constant", metadata={"help": "learning-rate schedule after warmup: constant, linear or cosine (decays to 0 at training.steps)"})
    warmup_steps: int = field(default=0, metadata={"help": "training steps of linear learning-rate warmup"})
    update_critic_with_fgo: bool = field(default=False, metadata={"help": "also apply the FGO mask to the value loss (the paper masks only the policy loss)"})
    ptx_coef: float = field(default=0.0, metadata={"help": "weight of a supervised loss on the SFT demonstrations (data.sft_path) added to every policy update (ours, after InstructGPT's PPO-ptx): the families a step does not sample keep their behaviour; 0 = the paper (pure RL)"})
    ptx_batch_size: int = field(default=16, metadata={"help": "demonstrations per optimizer step for the ptx loss (per process)"})
    oversample: int = field(default=1, metadata={"help": "dynamic sampling (ours, after DAPO): sample this many times training.problems_per_step problems a step and train on problems_per_step of them, those whose rollouts got different rewards first (a group that agrees has nothing to contrast); 1 = the paper (every sampled problem is trained on)"})

    def whiten(self) -> bool:
        """Whether advantages are whitened: as set, else only for 'gae'."""
        return self.whiten_advantages if self.whiten_advantages is not None else self.advantage == "gae"

    def __post_init__(self) -> None:
        _check_choice("ppo.advantage", self.advantage, ADVANTAGES)
        _check_choice("ppo.scheduler", self.scheduler, SCHEDULERS)
        _check_positive("ppo", ppo_epochs=self.ppo_epochs, minibatch_size=self.minibatch_size, grad_accum=self.grad_accum,
                        oversample=self.oversample, ptx_batch_size=self.ptx_batch_size)
        if self.ptx_coef < 0:
            raise ValueError(f"ppo.ptx_coef={self.ptx_coef}: must be >= 0")
        if self.minibatch_size % self.grad_accum:
            raise ValueError(f"ppo.minibatch_size={self.minibatch_size} is not divisible by ppo.grad_accum={self.grad_accum}: "
                             "each micro-batch must hold the same number of rollouts")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.lam <= 1.0:
            raise ValueError(f"ppo.gamma={self.gamma} and ppo.lam={self.lam} must lie in [0, 1]")


@dataclass
class FGOConfig:
    """Fine-Grained Optimization (paper §3.2): mask tokens of code the tests never ran."""

    enabled: bool = field(default=True, metadata={"help": "mask unexecuted completion tokens out of the policy loss (off: every completion token counts)"})


@dataclass
class DataConfig:
    """Where the training and held-out problems come from."""

    train_path: str = field(default="tiny", metadata={"help": "RL problems: a file, or 'tiny' for the bundled tiny train split"})
    sft_path: str = field(default="", metadata={"help": "demonstrations SFT learns from (canonical solutions): a file, 'tiny' for the bundled tiny demonstration split, or empty = train_path's problems ('tiny': its demonstration split, instances disjoint from the RL problems)"})
    heldout_path: str = field(default="tiny", metadata={"help": "held-out problems for evaluation: a file, or 'tiny' for the bundled tiny held-out split"})
    format: str | None = field(default=None, metadata={"help": "format of both files (apps-plus, apps, humaneval, mbpp, jsonl); empty = detect"})
    max_train_problems: int = field(default=0, metadata={"help": "use only the first N training problems (0 = all)"})
    max_heldout_problems: int = field(default=0, metadata={"help": "use only the first N held-out problems (0 = all)"})


@dataclass
class TrainingConfig:
    """The run: length, batch of problems, seeding, checkpoints and logging."""

    steps: int = field(default=20, metadata={"help": "PPO steps (one step = sample, execute, update)"})
    problems_per_step: int = field(default=8, metadata={"help": "problems per step over all processes; each gets sampling.n rollouts"})
    seed: int = field(default=0, metadata={"help": "base seed; each step's sampling seed is a function of (seed, step, rank) only, so a resumed run repeats an uninterrupted one"})
    save_every: int = field(default=10, metadata={"help": "write a checkpoint every N steps (and at the last step); 0 = only at the end"})
    keep_last: int = field(default=2, metadata={"help": "checkpoints to keep (older ones are deleted; 0 = keep all)"})
    output_dir: str = field(default="runs/stepcoder", metadata={"help": "run directory (config.yaml, metrics.jsonl, samples.jsonl, checkpoints/, tb/)"})
    samples_per_step: int = field(default=4, metadata={"help": "sampled programs written to samples.jsonl per step"})
    tensorboard: bool = field(default=True, metadata={"help": "write TensorBoard events under <output_dir>/tb"})
    wandb_project: str | None = field(default=None, metadata={"help": "also log to this Weights & Biases project (needs wandb)"})
    progress_bar: bool = field(default=True, metadata={"help": "show a tqdm progress bar"})
    cpu: bool = field(default=False, metadata={"help": "force CPU even when a GPU is present"})
    mixed_precision: str = field(default="no", metadata={"help": "accelerate mixed precision: no, fp16 or bf16"})

    def __post_init__(self) -> None:
        _check_positive("training", steps=self.steps, problems_per_step=self.problems_per_step)
        if self.save_every < 0 or self.keep_last < 0:
            raise ValueError("training.save_every and training.keep_last must be >= 0")


@dataclass
class SFTConfig:
    """Supervised fine-tuning on canonical solutions (the paper's SFT baseline: lr 2e-5,
    3 epochs, batch 64; also the tiny default's warm start)."""

    epochs: float = field(default=3.0, metadata={"help": "passes over the demonstrations (fractions allowed); 0 = no SFT: the demo and the ablation start RL from model.name_or_path as it is (the tiny preset: the shipped warm start 'tiny-sft')"})
    lr: float = field(default=2e-5, metadata={"help": "AdamW learning rate (paper SFT baseline: 2e-5)"})
    batch_size: int = field(default=64, metadata={"help": "examples per optimizer step (per process), split into grad_accum micro-batches"})
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per optimizer step"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    warmup_ratio: float = field(default=0.03, metadata={"help": "fraction of the optimizer steps spent in linear warmup"})
    scheduler: str = field(default="cosine", metadata={"help": "schedule after warmup: constant, linear or cosine"})
    max_length: int = field(default=1024, metadata={"help": "drop examples longer than this many tokens (prompt + program)"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient norm clip (<= 0 disables)"})
    log_every: int = field(default=10, metadata={"help": "write a metrics line every N optimizer steps"})

    def __post_init__(self) -> None:
        _check_choice("sft.scheduler", self.scheduler, SCHEDULERS)
        _check_positive("sft", batch_size=self.batch_size, grad_accum=self.grad_accum, max_length=self.max_length)
        if self.epochs < 0:
            raise ValueError(f"sft.epochs={self.epochs}: must be >= 0 (0 = no SFT)")
        if self.batch_size % self.grad_accum:
            raise ValueError(f"sft.batch_size={self.batch_size} is not divisible by sft.grad_accum={self.grad_accum}")
