"""Sampling settings of rollouts and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SamplingConfig:
    """How completions are sampled (paper §1: 16 per problem, temperature 0.8, top-p 0.9,
    up to 1024 new tokens; evaluation: temperature 0.2, top-p 0.95)."""

    n: int = field(default=16, metadata={"help": "completions per prompt"})
    temperature: float = field(default=0.8, metadata={"help": "softmax temperature when sampling"})
    top_p: float = field(default=0.9, metadata={"help": "nucleus sampling mass (1.0 disables)"})
    max_new_tokens: int = field(default=512, metadata={"help": "most generated tokens per completion"})
    stop: list[str] = field(default_factory=list, metadata={
        "help": "stop sequences: a completion ends where one first appears; the stop text is not "
                "part of the completion text"})
    greedy: bool = field(default=False, metadata={"help": "greedy decoding (n must be 1)"})
    batch_size: int = field(default=64, metadata={"help": "sequences per generate call"})
    seed: int = field(default=0, metadata={"help": "sampling seed: the same seed gives the same completions"})

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n={self.n}: need at least one completion per prompt")
        if self.greedy and self.n > 1:
            raise ValueError(f"greedy=True with n={self.n}: greedy decoding gives n identical completions")
        if not self.greedy and self.temperature <= 0:
            raise ValueError(f"temperature={self.temperature}: must be > 0 when sampling (use greedy=True)")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p={self.top_p}: must be in (0, 1]")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise ValueError("max_new_tokens and batch_size must be >= 1")
        if any(s == "" for s in self.stop):
            raise ValueError("an empty stop sequence would end every completion before its first token")
