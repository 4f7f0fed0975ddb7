"""APPS in the Hugging Face hub schema (``codeparrot/apps``).

Fields: ``problem_id, question, solutions`` (JSON text of a list of programs),
``input_output`` (JSON text of ``{"inputs", "outputs", "fn_name"?}``), ``starter_code``,
``difficulty`` (+ ``url``, ``apps_split``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepcoder.problems.records import RecordReader
from stepcoder.problems.types import Problem, Test


def parse_apps(rec: dict[str, Any], index: int, path: str | Path) -> Problem:
    r = RecordReader(rec, path, index)
    solutions = apps_solutions(r)
    io = json_field(r, "input_output", dict, empty={})
    starter = r.get("starter_code", str, default="")
    problem = Problem(
        id=r.record_id("problem_id"),
        prompt=r.get("question", str),
        solution=solutions[0] if solutions else None,
        tests=[],
        difficulty=r.get("difficulty", str, default=None),
        starter_code=starter or None,
        source_format="apps",
    )
    for key in ("url", "apps_split"):
        if rec.get(key) is not None:
            problem.meta[key] = rec[key]
    problem.meta["n_solutions"] = len(solutions)
    fn_name = io.get("fn_name")
    if fn_name is not None and not isinstance(fn_name, str):
        raise r.error("input_output", "fn_name must be a string")
    problem.fn_name = fn_name
    problem.tests = apps_tests(r, io, starter)
    return problem


def apps_solutions(r: RecordReader) -> list[str]:
    """The record's solution programs, in file order (``[]`` when the field is empty)."""
    solutions = json_field(r, "solutions", list, empty=[])
    if not all(isinstance(s, str) for s in solutions):
        raise r.error("solutions", "every solution must be a string")
    return solutions


def apps_tests(r: RecordReader, io: dict[str, Any], starter: str, unwrap: bool | None = None) -> list[Test]:
    """Tests from an ``input_output`` dict; ``unwrap`` forces the call-based output
    convention (``None``: guess it, see :func:`outputs_are_wrapped`)."""
    inputs, outputs = io.get("inputs", []), io.get("outputs", [])
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        raise r.error("input_output", "inputs and outputs must be lists of equal length")
    if io.get("fn_name") is None:
        return [Test(kind="stdio", stdin=_text(r, i), stdout=_text(r, o)) for i, o in zip(inputs, outputs)]
    if unwrap is None:
        unwrap = outputs_are_wrapped(outputs, starter)
    tests = []
    for k, (args, out) in enumerate(zip(inputs, outputs)):
        if not isinstance(args, list):
            raise r.error("input_output", f"test {k}: call-based inputs must be an argument list")
        tests.append(Test(kind="call", args=tuple(args), expected=out[0] if unwrap else out))
    return tests


def outputs_are_wrapped(outputs: list[Any], starter: str) -> bool:
    """APPS stores Codewars call-based outputs as one-element lists (``[[false], [true]]``)
    and LeetCode (``class Solution``) outputs bare (``[9]``); APPS's own evaluator
    (``testing_util.py``) accepts either ``out`` or ``out[0]``. We decide once per problem:
    wrapped when every output is a one-element list and the starter code is not a
    ``class Solution``.

    >>> outputs_are_wrapped([[False], [True]], "def is_prime(n):"), outputs_are_wrapped([9], "class Solution:")
    (True, False)
    """
    if "class Solution" in starter or not outputs:
        return False
    return all(isinstance(o, list) and len(o) == 1 for o in outputs)


def json_field(r: RecordReader, key: str, kind: type, empty: Any) -> Any:
    value = r.get(key, (str, kind), default="")
    if isinstance(value, str):
        if not value.strip():
            return empty  # the hub has records with an empty input_output / solutions
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise r.error(key, f"not valid JSON text: {exc}") from exc
    if not isinstance(value, kind):
        raise r.error(key, f"expected JSON {kind.__name__}, got {type(value).__name__}")
    return value


def _text(r: RecordReader, value: Any) -> str:
    # Some APPS stdio tests store the lines as a list; APPS's evaluator joins them with "\n".
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if not isinstance(value, str):
        raise r.error("input_output", f"stdio tests must be strings, got {type(value).__name__}")
    return value
