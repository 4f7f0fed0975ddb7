"""The APPS+ pipeline (StepCoder paper §4 "Dataset"): clean APPS into problems whose canonical
solution provably passes its own tests.

From APPS in the hub schema: drop problems without tests or solutions; standardise the
I/O; run the solutions in order in the sandbox and keep the problem only if one passes (it
becomes the canonical solution); annotate its AST blocks for CCCS/FGO.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from stepcoder.problems.apps import apps_solutions, apps_tests, json_field, outputs_are_wrapped
from stepcoder.problems.records import RecordReader
from stepcoder.problems.types import Problem, ProblemFormatError, Test

DROP_REASONS = ("malformed", "no_tests", "no_solutions", "no_passing_solution")


@dataclass
class BuildConfig:
    """Knobs of the APPS+ build."""

    max_solutions: int = field(default=10, metadata={"help": "Solutions tried per problem, in file order (APPS has up to ~100)."})
    timeout_s: float = field(default=4.0, metadata={"help": "CPU seconds per test when running solutions."})
    workers: int = field(default=0, metadata={"help": "Sandbox worker processes; 0 = one per CPU."})
    limit: int | None = field(default=None, metadata={"help": "Only the first N records (a quick look at a big file)."})

    def __post_init__(self) -> None:
        if self.max_solutions < 1:
            raise ValueError(f"max_solutions must be >= 1 (a problem is kept only if a solution passes), got {self.max_solutions}")


@dataclass
class _Candidate:
    """A problem waiting for a passing solution: ``attempts`` are (tests, solution index)
    pairs in the order they will be tried."""

    problem: Problem
    solutions: list[str]
    attempts: list[tuple[list[Test], int]]


@dataclass
class BuildSummary:
    """Counts of the build, written beside the output as ``OUT.summary.json``."""

    records: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    kept_by_difficulty: dict[str, int] = field(default_factory=dict)
    kept_by_kind: dict[str, int] = field(default_factory=dict)
    programs_run: int = 0
    seconds: float = 0.0
    malformed_examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def build_apps_plus(records: list[dict[str, Any]], source: str, config: BuildConfig, sandbox_config: Any = None) -> tuple[list[Problem], BuildSummary]:
    """Problems that survive the pipeline, in input order, and the build's counts."""
    from stepcoder.curriculum import extract_blocks
    from stepcoder.sandbox import Sandbox, SandboxConfig

    start = time.perf_counter()
    records = records[: config.limit] if config.limit is not None else records
    summary = BuildSummary(records=len(records))
    candidates = [c for i, rec in enumerate(records) if (c := _candidate(rec, i, source, config, summary))]
    sandbox_config = sandbox_config or SandboxConfig(timeout_s=config.timeout_s, workers=config.workers, coverage=False, fail_fast=True)
    with Sandbox(sandbox_config) as sandbox:
        kept = _first_passing(candidates, sandbox, summary)
    for problem in kept:
        problem.meta["blocks"] = [[b.kind, b.start_line, b.end_line] for b in extract_blocks(problem.solution)]
    summary.kept = len(kept)
    summary.dropped["no_passing_solution"] = len(candidates) - len(kept)
    summary.kept_by_difficulty = dict(Counter(p.difficulty or "unknown" for p in kept))
    summary.kept_by_kind = dict(Counter("call" if p.is_call_based else "stdio" for p in kept))
    summary.seconds = round(time.perf_counter() - start, 2)
    return kept, summary


def standardise_stdout(text: str) -> str:
    """Trailing whitespace removed from every line and trailing blank lines dropped; one
    final newline (APPS outputs mix "\\r\\n", trailing spaces and missing newlines).

    >>> standardise_stdout("1 2 \\r\\n3\\n\\n")
    '1 2\\n3\\n'
    """
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


def _candidate(rec: dict[str, Any], index: int, source: str, config: BuildConfig, summary: BuildSummary) -> _Candidate | None:
    try:
        return _parse_candidate(RecordReader(rec, source, index), config, summary)
    except ProblemFormatError as exc:
        summary.dropped["malformed"] += 1
        if len(summary.malformed_examples) < 10:
            summary.malformed_examples.append(str(exc))
        return None


def _parse_candidate(r: RecordReader, config: BuildConfig, summary: BuildSummary) -> _Candidate | None:
    io = json_field(r, "input_output", dict, empty={})
    starter = r.get("starter_code", str, default="")
    if not io.get("inputs") or not io.get("outputs"):
        summary.dropped["no_tests"] += 1
        return None
    solutions = apps_solutions(r)[: config.max_solutions]
    if not solutions:
        summary.dropped["no_solutions"] += 1
        return None
    test_sets = [[_standardised(t) for t in apps_tests(r, io, starter)]]
    if io.get("fn_name") is not None:
        # APPS's call-based outputs may or may not be wrapped in a one-element list and the
        # guess can be wrong; the other reading is tried after every solution failed the guess.
        wrapped_possible = outputs_are_wrapped(io["outputs"], "")
        guess = outputs_are_wrapped(io["outputs"], starter)
        if wrapped_possible:
            test_sets.append(apps_tests(r, io, starter, unwrap=not guess))
    problem = Problem(
        id=r.record_id("problem_id"), prompt=r.get("question", str), solution=None, tests=test_sets[0],
        difficulty=r.get("difficulty", str, default=None), starter_code=starter or None,
        fn_name=io.get("fn_name"), source_format="apps",
    )
    if r.rec.get("url"):
        problem.meta["url"] = r.rec["url"]
    attempts = [(tests, k) for tests in test_sets for k in range(len(solutions))]
    return _Candidate(problem, solutions, attempts)


def _standardised(test: Test) -> Test:
    if test.kind != "stdio":
        return test
    return Test(kind="stdio", stdin=test.stdin, stdout=standardise_stdout(test.stdout or ""))


def _first_passing(candidates: list[_Candidate], sandbox: Any, summary: BuildSummary) -> list[Problem]:
    """Round r runs every unresolved problem's r-th attempt, so one sandbox batch covers
    many problems (warm workers stay busy) and a problem stops at its first pass."""
    passed: dict[int, Problem] = {}
    rounds = max((len(c.attempts) for c in candidates), default=0)
    for r in range(rounds):
        todo = [(i, c) for i, c in enumerate(candidates) if i not in passed and r < len(c.attempts)]
        items = []
        for _, c in todo:
            tests, k = c.attempts[r]
            trial = dataclasses.replace(c.problem, tests=tests, meta=dict(c.problem.meta))
            items.append((trial, c.solutions[k]))
        summary.programs_run += len(items)
        for (i, c), (trial, program), result in zip(todo, items, sandbox.run_batch(items)):
            if result.passed:
                trial.solution = program
                trial.meta["solution_index"] = c.attempts[r][1]
                passed[i] = trial
    return [passed[i] for i in sorted(passed)]
