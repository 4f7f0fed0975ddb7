"""HumanEval (``HumanEval.jsonl.gz``): task_id, prompt, canonical_solution, test, entry_point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stepcoder.problems.records import RecordReader
from stepcoder.problems.types import Problem, Test


def parse_humaneval(rec: dict[str, Any], index: int, path: str | Path) -> Problem:
    r = RecordReader(rec, path, index)
    prompt = r.get("prompt", str)
    entry_point = r.get("entry_point", str)
    # The official harness runs prompt + completion + test + `check(entry_point)`.
    check = r.get("test", str) + f"\ncheck({entry_point})\n"
    canonical = r.get("canonical_solution", str, default=None)
    return Problem(
        id=r.record_id("task_id"),
        prompt=prompt,
        solution=None if canonical is None else prompt + canonical,
        tests=[Test(kind="assert", code=check)],
        entry_point=entry_point,
        source_format="humaneval",
    )
