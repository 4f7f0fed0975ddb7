"""The bundled tiny dataset: committed files = generator output, shape, and every canonical
solution passes its own tests in the sandbox."""

from __future__ import annotations

import ast

import pytest

from stepcoder.data import tiny_dataset_path
from stepcoder.data.tiny import generate_tiny_problems, write_tiny_dataset
from stepcoder.data.tiny_families import FAMILIES
from stepcoder.problems import load_problems


@pytest.fixture(scope="module")
def generated():
    return generate_tiny_problems(seed=0)


def test_committed_files_equal_generator_output(tmp_path, generated):
    train, heldout = generated
    assert load_problems(tiny_dataset_path("train")) == train
    assert load_problems(tiny_dataset_path("heldout")) == heldout
    for fresh, split in zip(write_tiny_dataset(tmp_path), ("train", "heldout")):
        assert fresh.read_bytes() == tiny_dataset_path(split).read_bytes()


def test_generation_is_deterministic_and_seeded(generated):
    assert generate_tiny_problems(seed=0) == generated
    other_train, _ = generate_tiny_problems(seed=1)
    assert [p.prompt for p in other_train] != [p.prompt for p in generated[0]]


def test_sizes_ids_and_disjoint_splits(generated):
    train, heldout = generated
    n_train_families = sum(not f.heldout_only for f in FAMILIES)
    n_heldout_only = sum(f.heldout_only for f in FAMILIES)
    assert (n_train_families, n_heldout_only) == (25, 3)
    assert len(train) == 25 * 16 and len(heldout) == 25 * 3 + 3 * 9
    ids = [p.id for p in train + heldout]
    assert len(set(ids)) == len(ids)
    # held-out = unseen constants: no held-out prompt or solution occurs in train
    assert not {p.prompt for p in train} & {p.prompt for p in heldout}
    assert not {p.solution for p in train} & {p.solution for p in heldout}
    only = {f.name for f in FAMILIES if f.heldout_only}
    assert not only & {p.meta["family"] for p in train}
    assert only <= {p.meta["family"] for p in heldout}


def test_problem_shape(generated):
    problems = generated[0] + generated[1]
    kinds = {(p.is_call_based, bool(p.fn_name)) for p in problems}
    assert kinds == {(True, True), (False, False)}  # stdin and call-based, fn_name iff call-based
    for p in problems:
        assert len(p.prompt) < 200 and len(p.tests) == 3
        assert 2 <= len(p.solution.strip().splitlines()) <= 8
        assert p.difficulty in ("introductory", "interview")
        ast.parse(p.solution)


def test_half_the_families_have_conditionals(generated):
    from stepcoder.curriculum.blocks import split_points

    n_splits = {}
    for p in generated[0]:
        n_splits[p.meta["family"]] = len(split_points(p.solution, kinds=("if", "elif", "for", "while")))
    assert sum(e >= 1 for e in n_splits.values()) >= len(n_splits) / 2
    assert any(e >= 3 for e in n_splits.values())


def _run_batch():
    sandbox = pytest.importorskip("stepcoder.sandbox")
    if not hasattr(sandbox, "run_batch"):
        pytest.skip("stepcoder.sandbox.run_batch not available in this checkout")
    return sandbox.run_batch


def _failures(run_batch, problems):
    results = run_batch([(p, p.solution) for p in problems])
    return [(p.id, r.verdict.name, r.error_message) for p, r in zip(problems, results) if not r.passed]


def test_one_solution_per_family_passes_in_sandbox(generated):
    run_batch = _run_batch()
    first = {}
    for p in generated[0] + generated[1]:
        first.setdefault(p.meta["family"], p)
    assert len(first) == len(FAMILIES)
    assert _failures(run_batch, list(first.values())) == []
    # the sandbox really judges: a wrong constant fails (tiny/mul/0 multiplies by 9)
    mul = first["mul"]
    assert "n * 9" in mul.solution
    assert not run_batch([(mul, mul.solution.replace("n * 9", "n * 10"))])[0].passed


@pytest.mark.slow
def test_every_canonical_solution_passes_in_sandbox(generated):
    assert _failures(_run_batch(), generated[0] + generated[1]) == []
