"""AST blocks (checked against the authors' APPS+ `scope` annotations) and CCCS split points."""

from __future__ import annotations

import ast
import json

import pytest

from stepcoder.curriculum.blocks import Block, SplitPoint, extract_blocks, line_offsets, split_points

ELIF_PROGRAM = """\
def f(x):
    if x > 0:
        return 1
    elif x < 0:
        return -1
    else:
        for i in range(3):
            x += i
    return [y for y in range(x)]
"""

TRY_PROGRAM = """\
try:
    for i in range(2):
        pass
except ValueError:
    while False:
        pass
except KeyError:
    g = lambda v: v
"""


def _scope(record: dict) -> list[list]:
    scope = record["scope"]
    if isinstance(scope, str):
        scope = ast.literal_eval(scope)
    return [list(s) for s in scope]


def _mismatches(path) -> tuple[int, list[int]]:
    records = json.loads(path.read_text())
    bad = [
        i
        for i, rec in enumerate(records)
        if [[b.kind, b.start_line, b.end_line] for b in extract_blocks(rec["canonical_solution"])] != _scope(rec)
    ]
    return len(records), bad


def test_blocks_agree_with_apps_plus_scope_valid(apps_plus_valid):
    n, bad = _mismatches(apps_plus_valid)
    assert n == 500
    assert bad == []


def test_blocks_agree_with_apps_plus_scope_train(apps_plus_train):
    n, bad = _mismatches(apps_plus_train)
    assert n == 16
    assert bad == []


def test_elif_is_a_nested_if_and_blocks_are_preorder():
    assert extract_blocks(ELIF_PROGRAM) == [
        Block("Function Body", 1, 9),
        Block("If Statement Body", 2, 8),
        Block("If Statement Body", 4, 8),  # the elif, inside the if's orelse
        Block("For Loop Body", 7, 8),
        Block("List Comprehension", 9, 9),
    ]


def test_except_blocks_follow_their_try_before_its_body():
    assert extract_blocks(TRY_PROGRAM) == [
        Block("Try Block", 1, 8),
        Block("Except Block", 4, 6),
        Block("Except Block", 7, 8),
        Block("For Loop Body", 2, 3),
        Block("While Loop Body", 5, 6),
        Block("Lambda Expression", 8, 8),
    ]


def test_expression_kinds():
    src = "class A:\n    d = {k: 1 for k in 'ab'}\n    s = {c for c in 'ab'}\n    g = sum(c for c in (1, 2))\n"
    assert [b.kind for b in extract_blocks(src)] == [
        "Class Body", "Dict Comprehension", "Set Comprehension", "Generator Expression",
    ]


def test_split_points_if_and_elif_are_line_starts():
    points = split_points(ELIF_PROGRAM)
    assert [p.line for p in points] == [2, 4]
    starts = line_offsets(ELIF_PROGRAM)
    assert [p.offset for p in points] == [starts[1], starts[3]]
    # The prefix before a split point is whole lines.
    assert ELIF_PROGRAM[: points[1].offset] == "".join(ELIF_PROGRAM.splitlines(keepends=True)[:3])


def test_split_kinds_are_configurable():
    assert [p.line for p in split_points(ELIF_PROGRAM, kinds=("if",))] == [2]
    assert [p.line for p in split_points(ELIF_PROGRAM, kinds=("if", "elif", "for"))] == [2, 4, 7]
    assert [p.line for p in split_points(TRY_PROGRAM, kinds=("try", "for", "while"))] == [1, 2, 5]
    with pytest.raises(ValueError, match="unknown split kinds"):
        split_points(ELIF_PROGRAM, kinds=("iff",))


def test_split_points_sorted_and_one_per_line():
    # `else: if` nests an If on a later line; a one-line `if` inside a for is on its own line.
    src = "for i in range(3):\n    if i: print(i)\nelse:\n    if True: pass\nif 1: pass\n"
    line1, line2, line3, line4 = 19, 4 + 15, 6, 4 + 14  # lengths with their newline
    assert split_points(src, kinds=("if", "for")) == [
        SplitPoint(1, 0),
        SplitPoint(2, line1),
        SplitPoint(4, line1 + line2 + line3),
        SplitPoint(5, line1 + line2 + line3 + line4),
    ]


def test_split_points_with_crlf_line_breaks():
    src = "x = 1\r\nif x:\r\n    y = 2\r\n"
    assert split_points(src) == [SplitPoint(2, len("x = 1\r\n"))]


def test_no_conditional_statement_gives_no_split_point():
    assert split_points("print(1)\nfor i in []:\n    pass\n") == []
