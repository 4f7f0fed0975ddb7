"""The native JSONL format: one problem a line, exactly ``Problem.to_json()``.

See docs/data_formats.md for the schema and an example record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stepcoder.problems.records import RecordReader
from stepcoder.problems.types import Problem, Test

# Optional string fields of the record that map 1:1 onto Problem attributes.
OPTIONAL_FIELDS = ("difficulty", "starter_code", "fn_name", "stdio_entry", "entry_point", "test_setup")
KNOWN_FIELDS = {"id", "prompt", "solution", "tests", "source_format", *OPTIONAL_FIELDS}


def parse_native(rec: dict[str, Any], index: int, path: str | Path) -> Problem:
    r = RecordReader(rec, path, index)
    problem = Problem(
        id=r.record_id("id"),
        prompt=r.get("prompt", str),
        solution=r.get("solution", str, default=None),
        tests=[_test(r, k, t) for k, t in enumerate(r.get("tests", list))],
        source_format=r.get("source_format", str, default="jsonl"),
        # Unknown keys (e.g. "blocks", "scope") are kept, so to_json() round-trips them.
        meta={k: v for k, v in rec.items() if k not in KNOWN_FIELDS},
    )
    for key in OPTIONAL_FIELDS:
        setattr(problem, key, r.get(key, str, default=None))
    if problem.is_call_based and not problem.fn_name:
        raise r.error("fn_name", "call-based tests ({'args', 'expected'}) need the function name")
    return problem


def _test(r: RecordReader, k: int, t: Any) -> Test:
    if not isinstance(t, dict):
        raise r.error("tests", f"test {k}: expected an object, got {type(t).__name__}")
    keys = set(t)
    if keys == {"stdin", "stdout"}:
        if not (isinstance(t["stdin"], str) and isinstance(t["stdout"], str)):
            raise r.error("tests", f"test {k}: stdin and stdout must be strings")
        return Test(kind="stdio", stdin=t["stdin"], stdout=t["stdout"])
    if keys == {"args", "expected"}:
        if not isinstance(t["args"], list):
            raise r.error("tests", f"test {k}: args must be a list")
        return Test(kind="call", args=tuple(t["args"]), expected=t["expected"])
    if keys == {"assert"}:
        if not isinstance(t["assert"], str):
            raise r.error("tests", f"test {k}: assert must be a string")
        return Test(kind="assert", code=t["assert"])
    raise r.error("tests", f"test {k}: keys {sorted(keys)} are none of stdin/stdout, args/expected, assert")
