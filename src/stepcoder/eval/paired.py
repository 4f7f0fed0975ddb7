"""A gain between two evaluations of the same problems, with a paired bootstrap interval.

Both models are measured on the same problems, so the gain's noise is that of the per-problem
differences, not of two independent pass rates: resampling problems (with replacement) and
recomputing the mean difference gives the interval (Efron & Tibshirani 1993, ch. 13, the
percentile interval). Seeded: the same records give the same interval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PairedGain:
    """``after - before`` of the mean per-problem pass rate, with its percentile interval."""

    before: float
    after: float
    gain: float
    lo: float
    hi: float
    n: int  # problems
    level: float = 0.95

    def line(self, name: str = "held-out pass@1") -> str:
        """``held-out pass@1: 0.289 -> 0.341 (+5.2, 95% CI [3.1, 7.3])`` (gain in points)."""
        return (f"{name}: {self.before:.3f} -> {self.after:.3f} ({100 * self.gain:+.1f}, "
                f"{100 * self.level:.0f}% CI [{100 * self.lo:.1f}, {100 * self.hi:.1f}])")


def per_problem_pass_rate(records: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Share of passing samples per ``task_id`` (pass@1 of each problem)."""
    made: dict[str, int] = defaultdict(int)
    passed: dict[str, int] = defaultdict(int)
    for r in records:
        made[r["task_id"]] += 1
        passed[r["task_id"]] += bool(r["passed"])
    return {task: passed[task] / made[task] for task in made}


def paired_bootstrap(before: Mapping[str, float], after: Mapping[str, float], n_boot: int = 10_000,
                     level: float = 0.95, seed: int = 0) -> PairedGain:
    """Mean of ``after[p] - before[p]`` over the problems both hold, with a paired bootstrap
    percentile interval. Problems in only one of the two are an error (not comparable).

    >>> g = paired_bootstrap({"a": 0.0, "b": 1.0}, {"a": 1.0, "b": 1.0}, n_boot=200)
    >>> g.gain, g.n
    (0.5, 2)
    """
    if set(before) != set(after):
        raise ValueError(f"the two evaluations cover different problems ({len(set(before) ^ set(after))} differ)")
    if not before:
        raise ValueError("no problems to compare")
    import numpy as np  # lazy: the CLI (and `stepcoder check`) starts without numpy

    keys = sorted(before)
    b = np.array([before[k] for k in keys], dtype=np.float64)
    a = np.array([after[k] for k in keys], dtype=np.float64)
    diff = a - b
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(keys), size=(n_boot, len(keys)))
    means = diff[idx].mean(axis=1)
    tail = (1.0 - level) / 2
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return PairedGain(float(b.mean()), float(a.mean()), float(diff.mean()), float(lo), float(hi), len(keys), level)
