"""APPS+ (StepCoder's cleaned APPS) in the authors' own schema.

Fields: ``prompt, canonical_solution, inputs, outputs, starter_code, scope, difficulty``
(+ ``id`` in some files). ``inputs``, ``outputs`` and ``scope`` may be lists or the Python
literal of a list, as a string.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from stepcoder.problems.records import RecordReader
from stepcoder.problems.types import Problem, Test

# `def FsxrN():` -- the zero-argument wrapper the authors put around stdin programs.
_STDIO_ENTRY = re.compile(r"^[ \t]*def\s+([A-Za-z_]\w*)\s*\(\s*\)\s*:", re.MULTILINE)
_ANY_DEF = re.compile(r"^[ \t]*def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def parse_apps_plus(rec: dict[str, Any], index: int, path: str | Path) -> Problem:
    r = RecordReader(rec, path, index)
    inputs = _literal_list(r, "inputs")
    outputs = _literal_list(r, "outputs")
    if len(inputs) != len(outputs):
        raise r.error("outputs", f"{len(outputs)} outputs for {len(inputs)} inputs")
    starter = r.get("starter_code", str, default="")
    problem = Problem(
        id=r.record_id("id"),
        prompt=r.get("prompt", str),
        solution=r.get("canonical_solution", str, default=None),
        tests=[],
        difficulty=r.get("difficulty", str, default=None),
        starter_code=starter or None,
        source_format="apps-plus",
    )
    if "scope" in rec:
        problem.meta["scope"] = [list(s) for s in _literal_list(r, "scope")]
    if all(isinstance(x, str) for x in inputs + outputs):
        match = _STDIO_ENTRY.search(starter)
        problem.stdio_entry = match.group(1) if match else None
        problem.tests = [Test(kind="stdio", stdin=i, stdout=o) for i, o in zip(inputs, outputs)]
    else:
        problem.fn_name = _call_name(r, starter)
        problem.tests = [_call_test(r, k, i, o) for k, (i, o) in enumerate(zip(inputs, outputs))]
    return problem


def decode_top_level(value: Any) -> Any:
    """Undo the APPS+ quoting of top-level strings: ``'"abc"'`` -> ``'abc'``.

    Only a string whose Python-literal value is itself a string is decoded; anything else
    (numbers, lists, unquoted text) is returned unchanged. Strings nested inside lists are
    never decoded: the authors' expected outputs were computed on the raw nested strings
    (e.g. ``minOperations(['"d1/"', ...])`` expects 5, which only the raw strings give).

    >>> decode_top_level('"abc"'), decode_top_level("7"), decode_top_level(['"x"'])
    ('abc', '7', ['"x"'])
    """
    if not isinstance(value, str):
        return value
    try:
        decoded = ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value
    return decoded if isinstance(decoded, str) else value


def _literal_list(r: RecordReader, key: str) -> list[Any]:
    value = r.get(key, (list, str))
    if isinstance(value, str):
        value = _parse_literal(r, key, value)
    return value


def _parse_literal(r: RecordReader, key: str, text: str) -> list[Any]:
    for parse in (ast.literal_eval, json.loads):
        try:
            value = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, list):
            return value
    raise r.error(key, "a string that is not the Python or JSON literal of a list")


def _call_name(r: RecordReader, starter: str) -> str:
    # There is no fn_name field: the name is the (only) function or `class Solution` method
    # that the starter code declares.
    match = _ANY_DEF.search(starter)
    if not match:
        raise r.error("starter_code", "call-based problem without a `def name(` to call")
    return match.group(1)


def _call_test(r: RecordReader, k: int, inputs: Any, outputs: Any) -> Test:
    if not isinstance(inputs, list):
        raise r.error("inputs", f"test {k}: call-based inputs must be an argument list, got {type(inputs).__name__}")
    if not isinstance(outputs, list) or len(outputs) != 1:
        raise r.error("outputs", f"test {k}: call-based outputs must be a one-element list")
    args = tuple(decode_top_level(a) for a in inputs)
    return Test(kind="call", args=args, expected=decode_top_level(outputs[0]))
