"""The bundled tiny dataset: committed files = generator output, shape, a design with room
for the method (>= 1,000 in-family held-out problems, long programs with several
conditionals for CCCS, code the tests never run for FGO), and every canonical solution passes
its own tests in the sandbox."""

from __future__ import annotations

import ast
import re

import pytest

from stepcoder.data import TINY_SPLITS, tiny_dataset_path
from stepcoder.data.tiny import (
    HELDOUT_PER_FAMILY,
    OOD_PER_FAMILY,
    SFT_PER_FAMILY,
    TRAIN_PER_FAMILY,
    generate_tiny_problems,
    write_tiny_dataset,
)
from stepcoder.data.tiny_families import FAMILIES
from stepcoder.problems import load_problems


@pytest.fixture(scope="module")
def generated():
    return generate_tiny_problems(seed=0)


def test_committed_files_equal_generator_output(tmp_path, generated):
    for split, problems in zip(TINY_SPLITS, generated, strict=True):
        assert load_problems(tiny_dataset_path(split)) == problems
    for fresh, split in zip(write_tiny_dataset(tmp_path), TINY_SPLITS, strict=True):
        assert fresh.read_bytes() == tiny_dataset_path(split).read_bytes()


def test_generation_is_deterministic_and_seeded(generated):
    assert generate_tiny_problems(seed=0) == generated
    other_train = generate_tiny_problems(seed=1)[0]
    assert [p.prompt for p in other_train] != [p.prompt for p in generated[0]]


def test_sizes_ids_and_disjoint_splits(generated):
    sft, train, heldout, ood = generated
    in_family = [f.name for f in FAMILIES if not f.out_of_family]
    out_of_family = {f.name for f in FAMILIES if f.out_of_family}
    assert (len(in_family), len(out_of_family)) == (32, 3)
    assert len(sft) == 32 * SFT_PER_FAMILY and len(train) == 32 * TRAIN_PER_FAMILY
    assert len(heldout) == 32 * HELDOUT_PER_FAMILY >= 1000
    assert len(ood) == 3 * OOD_PER_FAMILY
    ids = [p.id for p in sft + train + heldout + ood]
    assert len(set(ids)) == len(ids)
    # demonstrations, RL problems and held-out problems: new instances of the same families,
    # no prompt or solution shared between any two (RL sees instances SFT never saw)
    assert ({p.meta["family"] for p in sft} == {p.meta["family"] for p in train}
            == {p.meta["family"] for p in heldout} == set(in_family))
    for a, b in ((sft, train), (sft, heldout), (train, heldout)):
        assert not {p.prompt for p in a} & {p.prompt for p in b}
        assert not {p.solution for p in a} & {p.solution for p in b}
    # out-of-family problems never mix into the others
    assert {p.meta["family"] for p in ood} == out_of_family


def test_adding_the_rl_split_left_demonstrations_and_heldout_as_drawn():
    """The RL split is drawn after the other two from each family's stream, so the
    demonstrations and held-out problems are what the same seed gave without it."""
    import random

    from stepcoder.data.tiny import _distinct_params, _instance

    sft, _, heldout, _ = generate_tiny_problems(seed=0)
    family = next(f for f in FAMILIES if f.name == "threshold")
    rng = random.Random("0/threshold")
    params = _distinct_params(family, rng, SFT_PER_FAMILY + HELDOUT_PER_FAMILY)
    rng.shuffle(params)
    alone = [_instance(family, p, rng, n) for n, p in enumerate(params)]
    drawn = [p for p in sft + heldout if p.meta["family"] == "threshold"]
    assert [(p.id, p.prompt, p.tests) for p in drawn] == [(p.id, p.prompt, p.tests) for p in alone]
    assert [p for p in heldout if p.meta["family"] == "threshold"] == alone[SFT_PER_FAMILY:]


def test_half_the_demonstrations_hold_the_family_bug(generated):
    """SFT learns from noisy demonstrations: in every family with a plausible bug, half the
    demonstrations hold the wrong program (marked), the rest the correct one; the RL and
    held-out problems hold only correct solutions."""
    from stepcoder.data.tiny import NOISY_SHARE

    sft, train, heldout, ood = generated
    assert not any("demonstration" in p.meta for p in train + heldout + ood)
    for family in (f for f in FAMILIES if not f.out_of_family):
        demos = [p for p in sft if p.meta["family"] == family.name]
        wrong = [p for p in demos if p.meta.get("demonstration") == "wrong"]
        if family.bug is None:
            assert wrong == []
            continue
        assert len(wrong) == round(NOISY_SHARE * SFT_PER_FAMILY)
        # a demonstration holds the bug iff its text matches the bug's form one more time
        # than the correct template does (constants as wildcards)
        new = re.compile(re.sub(r"\\\{\w+\\\}", r"[^\\n]*?", re.escape(family.bug[1])))
        expected = len(new.findall(family.solution))
        for p in demos:
            assert len(new.findall(p.solution)) == expected + (p in wrong), p.id
        right = next(p for p in train if p.meta["family"] == family.name).solution
        assert len(right.splitlines()) == len(wrong[0].solution.splitlines())


def test_problem_shape(generated):
    problems = [p for split in generated for p in split]
    kinds = {(p.is_call_based, bool(p.fn_name)) for p in problems}
    assert kinds == {(True, True), (False, False)}  # stdin and call-based, fn_name iff call-based
    for p in problems:
        assert len(p.prompt) < 200 and len(p.tests) == 3
        assert 2 <= len(p.solution.strip().splitlines()) <= 12
        assert p.difficulty in ("introductory", "interview")
        ast.parse(p.solution)


def test_families_have_room_for_cccs(generated):
    """Half the families have a curriculum; several are long programs with 3+ conditionals
    (K >= 2 stages even with the paper's split points alone), where exploration is hard."""
    from stepcoder.curriculum.blocks import split_points

    n_splits, n_conditionals = {}, {}
    for p in generated[1]:
        n_splits[p.meta["family"]] = len(split_points(p.solution, kinds=("if", "elif", "for", "while")))
        n_conditionals[p.meta["family"]] = len(split_points(p.solution, kinds=("if", "elif")))
    assert sum(e >= 1 for e in n_splits.values()) >= len(n_splits) / 2
    assert sum(e >= 3 for e in n_splits.values()) >= 6
    assert sum(e >= 3 for e in n_conditionals.values()) >= 5


@pytest.mark.slow
def test_families_have_room_for_fgo(generated, canonical_results):
    """Some families' tests leave code unexecuted in their canonical solutions: FGO has
    tokens to mask there."""
    train = generated[1]
    untouched = set()
    for p in train:
        r = canonical_results[p.id]
        assert r.passed
        code_lines = {i for i, line in enumerate(p.solution.splitlines(), 1)
                      if line.strip() and line.strip() not in ("else:",)}
        if code_lines - set(r.executed_lines):
            untouched.add(p.meta["family"])
    assert {"bands", "calc", "safe_div", "price", "tag"} <= untouched


@pytest.fixture(scope="module")
def canonical_results(generated):
    """Every bundled problem's solution through the sandbox once, executed lines recorded
    (test_families_have_room_for_fgo and test_every_canonical_solution_passes_in_sandbox
    read the same run: it is the suite's largest sandbox batch)."""
    problems = [p for split in generated for p in split]
    results = _run_batch()([(p, p.solution) for p in problems])
    return {p.id: r for p, r in zip(problems, results, strict=True)}


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
    for p in [p for split in generated for p in split if p.meta.get("demonstration") != "wrong"]:
        first.setdefault(p.meta["family"], p)
    assert len(first) == len(FAMILIES)
    assert _failures(run_batch, list(first.values())) == []
    # the sandbox really judges: a wrong constant fails
    mul = first["mul"]
    k = int(re.search(r"n \* (\d+)", mul.solution).group(1))
    assert not run_batch([(mul, mul.solution.replace(f"n * {k}", f"n * {k + 1}"))])[0].passed


@pytest.mark.slow
def test_every_canonical_solution_passes_in_sandbox(generated, canonical_results):
    """Every solution passes its tests, except the wrong demonstrations, each of which fails
    at least one (a bug the tests cannot see would be no noise at all)."""
    problems = [p for split in generated for p in split]
    wrong = {p.id for p in problems if p.meta.get("demonstration") == "wrong"}
    assert len(wrong) == 435 and len(canonical_results) == len(problems)
    assert {pid for pid, r in canonical_results.items() if not r.passed} == wrong
