"""Executed-line recorders for the candidate program.

:func:`compile_with_line_marks` (used by the sandbox) compiles a marker before every statement;
:class:`LineTracer` (the reference) is a ``sys.settrace`` line tracer that
follows only frames of the candidate's code object (filename ``<candidate>``), in the main
thread and, through ``threading.settrace``, in threads (APPS solutions often run ``main``
in a ``threading.Thread`` with a bigger stack). Its line set equals coverage.py's executed
statements on APPS+ solutions (checked in tests/test_sandbox_coverage.py)."""

from __future__ import annotations

import ast
import sys
import warnings
import threading
from types import CodeType, FrameType
from typing import Any

CANDIDATE_FILENAME = "<candidate>"


class LineTracer:
    """Collects 1-based line numbers executed in code compiled with ``CANDIDATE_FILENAME``."""

    def __init__(self) -> None:
        self.lines: set[int] = set()

    def start(self) -> None:
        threading.settrace(self._on_call)
        sys.settrace(self._on_call)

    def stop(self) -> None:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]

    def _on_call(self, frame: FrameType, event: str, arg: Any) -> Any:
        # global trace function: decides per new frame whether to trace its lines at all,
        # so library code costs one call event per frame and no line events
        if frame.f_code.co_filename != CANDIDATE_FILENAME:
            return None
        return self._on_line

    def _on_line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.lines.add(frame.f_lineno)
        return self._on_line


# --- the fast recorder used by the sandbox: statement markers compiled into the program ---

MARKS_NAME = "__stepcoder_lines__"
_NO_BYTECODE = (ast.Global, ast.Nonlocal)  # no line of their own in coverage.py either


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _marker(node: ast.stmt | ast.excepthandler) -> ast.stmt:
    where = {"lineno": node.lineno, "col_offset": node.col_offset, "end_lineno": node.lineno, "end_col_offset": node.col_offset}
    func = ast.Attribute(ast.Name(MARKS_NAME, ast.Load(), **where), "add", ast.Load(), **where)
    return ast.Expr(ast.Call(func, [ast.Constant(node.lineno, **where)], [], **where), **where)


def _is_future_import(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"


_DOC_OWNERS = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _mark_node(node: ast.AST) -> None:
    """Put ``__stepcoder_lines__.add(N)`` before every statement of line N in every block
    of ``node``. Walks statements only (expressions hold no statements), which keeps the
    transform a fraction of the compile time."""
    for name in ("body", "orelse", "finalbody"):
        stmts = getattr(node, name, None)
        if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
            for stmt in stmts:
                _mark_node(stmt)
            setattr(node, name, _mark_block(stmts, name == "body" and isinstance(node, _DOC_OWNERS)))
    for handler in getattr(node, "handlers", ()):
        _mark_node(handler)
        handler.body.insert(0, _marker(handler))  # the `except ...:` line ran when taken
    for case in getattr(node, "cases", ()):
        _mark_node(case)


def _mark_block(stmts: list[ast.stmt], docstring_allowed: bool) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    futures: list[ast.stmt] = []  # `from __future__` must stay first: marked after them
    for i, stmt in enumerate(stmts):
        if _is_future_import(stmt):
            futures.append(stmt)
            out.append(stmt)
            continue
        out.extend(_marker(f) for f in futures)
        futures = []
        if not ((i == 0 and docstring_allowed and _is_docstring(stmt)) or isinstance(stmt, _NO_BYTECODE)):
            out.append(_marker(stmt))
        out.append(stmt)
    out.extend(_marker(f) for f in futures)
    return out


def mark_tree(tree: ast.Module) -> None:
    """Insert the line markers into a parsed program, in place."""
    _mark_node(tree)


def statement_lines(source: str) -> frozenset[int] | None:
    """The lines a marker can report for ``source`` (``None`` if it does not parse): the
    parent keeps only these of the lines a test process reports, so a forged set holds
    nothing but real statement lines of the program."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, CANDIDATE_FILENAME)
        _mark_node(tree)
        lines: set[int] = set()
        _marker_lines(tree, lines)
        return frozenset(lines)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def _marker_lines(node: ast.AST, out: set[int]) -> None:
    """Lines of the markers in a marked tree: they only stand in statement blocks, so only
    statements are visited (a walk of every expression node cost 3-4x more)."""
    for name in ("body", "orelse", "finalbody"):
        stmts = getattr(node, name, None)
        if isinstance(stmts, list):
            for stmt in stmts:
                if _is_marker(stmt):
                    out.add(stmt.lineno)
                elif isinstance(stmt, ast.stmt):
                    _marker_lines(stmt, out)
    for child in (*getattr(node, "handlers", ()), *getattr(node, "cases", ())):
        _marker_lines(child, out)


def _is_marker(node: ast.AST) -> bool:
    """One of ours (``__stepcoder_lines__.add(N)`` on line N), not a look-alike in the program."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and len(node.value.args) == 1):
        return False
    func, arg = node.value.func, node.value.args[0]
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == MARKS_NAME
            and isinstance(arg, ast.Constant) and arg.value == node.lineno)


def compile_with_line_marks(source: str, filename: str = CANDIDATE_FILENAME) -> CodeType:
    """Compile ``source`` so that running it adds each executed statement's first line to the
    set ``__stepcoder_lines__`` (looked up in builtins). About 2x slower than the bare program
    on hot loops, against ~10x for the ``sys.settrace`` tracer above, which stays as the
    reference it is tested against. Line numbers of the program's own code are unchanged."""
    tree = ast.parse(source, filename)
    _mark_node(tree)
    return compile(tree, filename, "exec", dont_inherit=True)
