"""MBPP: ``mbpp.jsonl`` (text, code, test_setup_code, test_list, challenge_test_list) and
``sanitized-mbpp.json`` (prompt, code, test_imports, test_list)."""

from __future__ import annotations

import ast
import builtins
import re
import warnings
from pathlib import Path
from typing import Any

from stepcoder.problems.records import RecordReader
from stepcoder.problems.types import Problem, Test

_FIRST_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")


def parse_mbpp(rec: dict[str, Any], index: int, path: str | Path) -> Problem:
    r = RecordReader(rec, path, index)
    sanitized = "prompt" in rec and "text" not in rec
    prompt = r.get("prompt" if sanitized else "text", str)
    code = r.get("code", str, default=None)
    asserts = _str_list(r, "test_list")
    if sanitized:
        setup = "\n".join(_str_list(r, "test_imports", default=[]))
    else:
        setup = r.get("test_setup_code", str, default="")
    name = tested_function(asserts[0], code) if asserts else None
    problem = Problem(
        id=r.record_id("task_id"),
        prompt=prompt,
        solution=code,
        tests=[Test(kind="assert", code=a) for a in asserts],
        fn_name=name,
        entry_point=name,
        test_setup=setup or None,
        source_format="mbpp",
    )
    challenge = _str_list(r, "challenge_test_list", default=[])
    if challenge:
        problem.meta["challenge_tests"] = challenge
    return problem


def tested_function(assertion: str, code: str | None) -> str | None:
    """Name of the function the assert tests: the first called name that the solution
    defines, else the first called name that is not a builtin.

    >>> tested_function("assert set(f(1)) == set((2,))", "def f(x): ...")
    'f'
    """
    try:
        called = [n.func.id for n in _calls_in_order(ast.parse(assertion)) if isinstance(n.func, ast.Name)]
    except SyntaxError:
        called = _FIRST_CALL.findall(assertion)
    defined = _defined_names(code)
    for candidates in ([c for c in called if c in defined], [c for c in called if not hasattr(builtins, c)]):
        if candidates:
            return candidates[0]
    return None


def _calls_in_order(tree: ast.AST) -> list[ast.Call]:
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset))


def _defined_names(code: str | None) -> set[str]:
    if not code:
        return set()
    try:
        with warnings.catch_warnings():  # MBPP code has "\d"-style escapes in plain strings
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(code)
    except SyntaxError:
        return set(re.findall(r"^def\s+([A-Za-z_]\w*)", code, re.MULTILINE))
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _str_list(r: RecordReader, key: str, **default: Any) -> list[str]:
    value = r.get(key, list, **default)
    if not all(isinstance(v, str) for v in value):
        raise r.error(key, "expected a list of strings")
    return value
