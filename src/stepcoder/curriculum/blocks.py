"""Code structure from the AST: blocks (as the APPS+ ``scope`` field annotates them) and the
split points of CCCS (StepCoder §3.2: the start positions of the conditional statements).

The block rules were reverse-engineered from the authors' ``scope`` annotations and agree
with them exactly on all 516 APPS+ records we hold (tests/test_blocks.py):

- a block is ``[kind, node.lineno, node.end_lineno]``: the whole node, header line included;
- nodes are listed in depth-first pre-order (``ast.NodeVisitor`` order), so an ``elif`` is
  an ``If Statement Body`` nested in the ``orelse`` of its ``if``;
- a ``Try Block`` is followed at once by the ``Except Block`` of each of its handlers, and
  only then by the blocks inside the ``try`` body and the handlers.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# The kind names of the APPS+ ``scope`` field; the data holds no other kinds.
BLOCK_KINDS: dict[type, str] = {
    ast.If: "If Statement Body",
    ast.For: "For Loop Body",
    ast.AsyncFor: "For Loop Body",  # absent from APPS+; the closest authors' kind
    ast.While: "While Loop Body",
    ast.FunctionDef: "Function Body",
    ast.AsyncFunctionDef: "Function Body",  # absent from APPS+
    ast.ClassDef: "Class Body",
    ast.ListComp: "List Comprehension",
    ast.GeneratorExp: "Generator Expression",
    ast.Lambda: "Lambda Expression",
    ast.Try: "Try Block",
    ast.TryStar: "Try Block",  # absent from APPS+
    ast.DictComp: "Dict Comprehension",
    ast.SetComp: "Set Comprehension",
}
EXCEPT_KIND = "Except Block"

# Statement kinds that can be split points; the default follows the paper ("conditional
# statements"): `if` and its `elif` branches.
SPLIT_KINDS = ("if", "elif", "for", "while", "try", "with", "match")
DEFAULT_SPLIT_KINDS: tuple[str, ...] = ("if", "elif")


@dataclass(frozen=True)
class Block:
    """One code block of a program: its APPS+ kind name and 1-based inclusive line range.

    >>> extract_blocks("for i in range(3):\\n    print(i)\\n")
    [Block(kind='For Loop Body', start_line=1, end_line=2)]
    """

    kind: str
    start_line: int
    end_line: int

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "start_line": self.start_line, "end_line": self.end_line}


@dataclass(frozen=True)
class SplitPoint:
    """Where a prefix may end: the 1-based ``line`` of a split statement and ``offset``, the
    character index of that line's first character, so ``source[:offset]`` is whole lines.

    >>> split_points("x = 1\\nif x:\\n    y = 2\\n")
    [SplitPoint(line=2, offset=6)]
    """

    line: int
    offset: int


class _BlockVisitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def generic_visit(self, node: ast.AST) -> None:
        kind = BLOCK_KINDS.get(type(node))
        if kind is not None:
            self.blocks.append(Block(kind, node.lineno, node.end_lineno))
        if isinstance(node, (ast.Try, ast.TryStar)):
            # The authors list the handlers right after their try (see module docstring).
            for handler in node.handlers:
                self.blocks.append(Block(EXCEPT_KIND, handler.lineno, handler.end_lineno))
        super().generic_visit(node)


def extract_blocks(source: str) -> list[Block]:
    """The blocks of ``source`` in the order and form of the APPS+ ``scope`` field.

    Raises ``SyntaxError`` when ``source`` does not parse.
    """
    visitor = _BlockVisitor()
    visitor.visit(ast.parse(source))
    return visitor.blocks


def line_offsets(source: str) -> list[int]:
    """Character index of the first character of each line (index 0 is line 1).

    Line breaks are those of the Python tokenizer (``\\r\\n``, ``\\r``, ``\\n``), so the
    numbering agrees with ``ast`` line numbers.
    """
    return [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", source)]


def _statement_kind(node: ast.AST, lines: list[str]) -> str | None:
    """The split kind of a statement node, or None. An ``elif`` is an ``If`` whose line starts
    with the keyword ``elif`` (a compound statement always starts its own line)."""
    if isinstance(node, ast.If):
        return "elif" if lines[node.lineno - 1].lstrip().startswith("elif") else "if"
    for types, kind in _STATEMENT_KINDS:
        if isinstance(node, types):
            return kind
    return None


_STATEMENT_KINDS: list[tuple[tuple[type, ...], str]] = [
    ((ast.For, ast.AsyncFor), "for"),
    ((ast.While,), "while"),
    ((ast.Try, ast.TryStar), "try"),
    ((ast.With, ast.AsyncWith), "with"),
    ((ast.Match,), "match"),
]


def split_points(source: str, kinds: tuple[str, ...] | list[str] = DEFAULT_SPLIT_KINDS) -> list[SplitPoint]:
    """Start positions of the statements of the given ``kinds`` (see ``SPLIT_KINDS``), sorted,
    one per line. ``elif`` is its own kind so that it can be counted or not.

    Raises ``SyntaxError`` when ``source`` does not parse, ``ValueError`` on an unknown kind.
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = set(kinds) - set(SPLIT_KINDS)
    if unknown:
        raise ValueError(f"unknown split kinds {sorted(unknown)}; choose from {SPLIT_KINDS}")
    tree = ast.parse(source)
    starts = line_offsets(source)
    lines = [source[a:b] for a, b in zip(starts, starts[1:] + [len(source)])]
    wanted = {node.lineno for node in ast.walk(tree) if _statement_kind(node, lines) in kinds}
    return [SplitPoint(line, starts[line - 1]) for line in sorted(wanted)]
