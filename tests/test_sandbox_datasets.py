"""Canonical solutions of the real datasets pass; broken variants get the right verdict."""

from __future__ import annotations

import pytest

from stepcoder.problems import load_problems
from stepcoder.sandbox import Sandbox, SandboxConfig, Verdict


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(SandboxConfig(timeout_s=4.0)) as sb:
        yield sb


def _failures(sandbox: Sandbox, problems: list) -> list[tuple[str, str, str | None]]:
    items = [(p, p.solution) for p in problems]
    return [(p.id, r.verdict.value, r.error_message) for (p, _), r in zip(items, sandbox.run_batch(items)) if not r.passed]


def test_apps_plus_train_all_pass(sandbox, apps_plus_train) -> None:
    problems = load_problems(apps_plus_train)
    assert len(problems) == 16 and _failures(sandbox, problems) == []


def test_humaneval_all_pass(sandbox, humaneval_file) -> None:
    problems = load_problems(humaneval_file)
    assert len(problems) == 164 and _failures(sandbox, problems) == []


def test_apps_plus_valid_sample_passes(sandbox, apps_plus_valid) -> None:
    problems = load_problems(apps_plus_valid)[::25]  # 20 of 500, all three difficulties
    assert _failures(sandbox, problems) == []


def test_mbpp_sample_passes(sandbox, mbpp_file, mbpp_sanitized_file) -> None:
    problems = load_problems(mbpp_file)[::20] + load_problems(mbpp_sanitized_file)[::20]
    assert _failures(sandbox, problems) == []


def _broken_variants(solution: str, fn: str | None) -> dict[Verdict, str]:
    lines = solution.splitlines()
    return {
        Verdict.COMPILE_ERROR: solution + "\ndef (:\n",
        Verdict.RUNTIME_ERROR: "raise ValueError('broken')\n" + solution,
        Verdict.TIMEOUT: "while True:\n    pass\n" + solution,
        # body replaced by `pass`: the entry function returns None / prints nothing
        Verdict.WRONG_ANSWER: "\n".join(lines) + f"\ndef {fn}(*args, **kwargs):\n    pass\n" if fn else "pass\n",
    }


def test_broken_variants_get_right_verdicts(apps_plus_valid, humaneval_file) -> None:
    stdio = next(p for p in load_problems(apps_plus_valid) if p.stdio_entry)
    call = next(p for p in load_problems(apps_plus_valid) if p.fn_name and "class Solution" not in p.solution)
    human = load_problems(humaneval_file)[0]
    cases = []
    for problem, fn in ((stdio, stdio.stdio_entry), (call, call.fn_name), (human, human.entry_point)):
        for verdict, program in _broken_variants(problem.solution, fn).items():
            cases.append((problem, program, verdict))
    with Sandbox(SandboxConfig(timeout_s=0.5, coverage=False)) as sb:
        results = sb.run_batch([(p, prog) for p, prog, _ in cases])
    assert [(p.id, r.verdict) for (p, _, _), r in zip(cases, results)] == [(p.id, v) for p, _, v in cases]


@pytest.mark.slow
@pytest.mark.parametrize("fixture, max_failures", [
    ("apps_plus_valid", 0),  # 500/500 measured; the brief asks >= 99%
    ("mbpp_file", 0),  # 974/974 measured
    ("mbpp_sanitized_file", 0),
])
def test_full_sets(request, fixture: str, max_failures: int) -> None:
    # correctness, not speed: a generous CPU limit, because on a loaded machine MBPP task 123
    # needs 8.3 s of CPU even outside any sandbox (APPS+ 38 about 5 s); speed is measured in
    # benchmarks/, never by a timed test
    with Sandbox(SandboxConfig(timeout_s=30.0)) as sandbox:
        failures = _failures(sandbox, load_problems(request.getfixturevalue(fixture)))
    assert len(failures) <= max_failures, failures
