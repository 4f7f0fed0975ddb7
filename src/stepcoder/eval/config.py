"""Settings of an evaluation run (`stepcoder eval`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Settings that do not change which samples are made or how they are judged: a rerun may
# change them without mixing incompatible samples in one samples.jsonl.
SCORING_ONLY = ("k",)


@dataclass
class EvalConfig:
    """How samples are drawn and judged. Defaults follow StepCoder's evaluation (§4: pass@1,
    temperature 0.2, top-p 0.95)."""

    model: str = field(default="tiny", metadata={"help": "model: a Hugging Face folder or hub id, 'tiny', 'gemma-3-270m', a training run directory (its latest checkpoint) or a checkpoint folder"})
    data: str = field(default="", metadata={"help": "problem file (APPS+, APPS, HumanEval, MBPP or native JSONL)"})
    format: str | None = field(default=None, metadata={"help": "problem file format (apps-plus, apps, humaneval, mbpp, jsonl); None = detect"})
    n_samples: int = field(default=1, metadata={"help": "samples per problem (n of pass@k)"})
    k: tuple[int, ...] = field(default=(1,), metadata={"help": "k values of pass@k, comma-separated; each must be <= n_samples"})
    temperature: float = field(default=0.2, metadata={"help": "sampling temperature (paper: 0.2)"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling mass (paper: 0.95)"})
    greedy: bool = field(default=False, metadata={"help": "greedy decoding instead of sampling (needs n_samples = 1)"})
    max_new_tokens: int = field(default=512, metadata={"help": "tokens generated at most per sample"})
    batch_size: int = field(default=8, metadata={"help": "prompts per generate call; part of the seeding, so fixed for a run"})
    limit: int | None = field(default=None, metadata={"help": "evaluate only the first N problems of the file"})
    prompt_template: str | None = field(default=None, metadata={"help": "prompt template for whole-program problems (see PromptConfig.template); default: the one the model was trained with (its prompt_config.json), else 'auto'; HumanEval prompts are fed as is"})
    timeout: float | None = field(default=None, metadata={"help": "CPU seconds per test (None = the sandbox default)"})
    seed: int = field(default=0, metadata={"help": "base seed; each batch's seed derives from it and its first (problem, sample)"})

    def __post_init__(self) -> None:
        self.k = tuple(sorted({int(k) for k in ([self.k] if isinstance(self.k, int) else self.k)}))
        if self.n_samples < 1 or self.batch_size < 1 or self.max_new_tokens < 1:
            raise ValueError("n_samples, batch_size and max_new_tokens must be >= 1")
        if not self.k or self.k[0] < 1:
            raise ValueError(f"k must hold values >= 1, got {self.k}")
        if self.k[-1] > self.n_samples:
            # pass@k estimates from n >= k samples (Chen et al. 2021); it is undefined below.
            raise ValueError(f"pass@{self.k[-1]} needs at least {self.k[-1]} samples per problem, "
                             f"but n_samples = {self.n_samples}: raise --n-samples or lower --k")
        if self.greedy and self.n_samples > 1:
            raise ValueError("greedy decoding makes all n_samples samples identical; use sampling "
                             "(--temperature/--top-p) for n_samples > 1")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")

    def sample_settings(self) -> dict[str, Any]:
        """The settings that decide the samples and their verdicts (stored in eval_config.json)."""
        settings = asdict(self)
        for key in SCORING_ONLY:
            settings.pop(key)
        if self.greedy:  # ignored by greedy decoding, so a rerun may pass other values
            settings.pop("temperature")
            settings.pop("top_p")
        return settings
