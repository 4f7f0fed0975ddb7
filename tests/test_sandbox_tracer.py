"""The compiled line markers against the settrace reference tracer, in-process."""

from __future__ import annotations

import builtins
import threading

import pytest

from stepcoder.sandbox.tracer import CANDIDATE_FILENAME, MARKS_NAME, LineTracer, compile_with_line_marks

PROGRAM = '''\
"""module docstring"""
from __future__ import annotations
import threading
def f(n):
    """function docstring"""
    total = 0
    for i in range(n):
        if i % 2:
            total += i
        elif i == 4:
            total -= 1
        else:
            pass
    return total
class C:
    """class docstring"""
    x = 1
    def g(self):
        global G
        G = f(3)
        try:
            raise ValueError
        except ValueError:
            G += 1
        finally:
            G += 2
t = threading.Thread(target=C().g)
t.start()
t.join()
R = f(3)
'''


def _marks(source: str) -> tuple[set[int], dict]:
    lines: set[int] = set()
    setattr(builtins, MARKS_NAME, lines)
    ns: dict = {"__name__": "__main__"}
    try:
        exec(compile_with_line_marks(source), ns)
    finally:
        delattr(builtins, MARKS_NAME)
    return lines, ns


def _traced(source: str) -> set[int]:
    tracer = LineTracer()
    tracer.start()
    try:
        exec(compile(source, CANDIDATE_FILENAME, "exec", dont_inherit=True), {"__name__": "__main__"})
    finally:
        tracer.stop()
    return tracer.lines


def test_marks_agree_with_settrace_reference() -> None:
    marks, ns = _marks(PROGRAM)
    # settrace also reports the module and class docstring stores (lines 1, 16), which
    # coverage.py does not count as statements
    assert marks == _traced(PROGRAM) - {1, 16}
    assert 11 not in marks  # the elif branch: i never reaches 4 in range(3)
    assert 13 in marks and 19 not in marks  # else's pass ran (i=0); `global` has no line
    assert ns["R"] == 1 + 0 and ns["G"] == 1 + 1 + 2


def test_marks_keep_semantics() -> None:
    _, ns = _marks(PROGRAM)
    assert ns["f"].__doc__ == "function docstring" and ns["C"].__doc__ == "class docstring"
    assert ns["__doc__"] == "module docstring"


def test_marks_keep_error_lines() -> None:
    source = "x = 1\n\ndef f():\n    return 1 / 0\nf()\n"
    with pytest.raises(ZeroDivisionError) as info:
        _marks(source)
    assert info.traceback[-1].lineno + 1 == 4  # pytest's lineno is 0-based


def test_threads_recorded() -> None:
    marks, _ = _marks("import threading\ndef w():\n    y = 2\nt = threading.Thread(target=w)\nt.start()\nt.join()\n")
    assert marks == {1, 2, 3, 4, 5, 6}
    assert threading.active_count() >= 1


MATCH_AND_HANDLERS = '''\
def h(x):
    match x:
        case [a, *_]:
            return a
        case {"k": v}:
            return v
        case _:
            pass
    try:
        y = 1
    except (KeyError, ValueError) as e:
        y = 2
    else:
        y = 3
    finally:
        y += 1
    while x:
        break
    else:
        y = 4
    async def k():
        async with x:
            await x
    return y
'''


@pytest.mark.parametrize("source", [PROGRAM, MATCH_AND_HANDLERS, "x = 1\n__stepcoder_lines__.add(1)\n"])
def test_statement_lines_are_every_marker_and_only_those(source: str) -> None:
    """The parent's line set (what a test process may report) is the lines of the markers the
    test process compiles: found by walking statements only, checked against a full walk."""
    import ast

    from stepcoder.sandbox.tracer import _is_marker, mark_tree, statement_lines

    tree = ast.parse(source)
    mark_tree(tree)
    every = frozenset(node.lineno for node in ast.walk(tree) if _is_marker(node))
    assert statement_lines(source) == every and every
    marks, _ = _marks(source)  # what a run can report is among them
    assert marks and marks <= every
