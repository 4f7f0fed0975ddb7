"""FGO: Fine-Grained Optimization (StepCoder §3.2). Tokens of code that never ran had no effect
on the reward, so they are masked out of the policy loss (mask 1 = the token counts).

Executed lines come from the sandbox's line tracer (``ExecResult.executed_lines``, union over
the problem's tests). The rules, each tested in tests/test_fgo.py:

1. Each code line belongs to the innermost statement whose span contains it, so the
   continuation lines of a multi-line statement share its state. A simple statement ran if
   the tracer saw any of its lines; a compound statement ran if the tracer saw a line of its
   header (decorators included) or the first statement of its body ran.
2. Statements that may compile to no line event (a function docstring or other constant
   expression, ``pass``, ``global``, ``nonlocal``) also ran when another statement of their
   block ran.
3. Clause headers that are not statements (``else:``, ``finally:``, ``except ...:``; the
   tracer never reports the first two) ran when the tracer saw them or the first statement
   beneath them ran.
4. Lines with no code (blank, comment-only) take the state of the next code line; when no
   code follows (the trailing lines of the program) they are kept.
5. A token's lines are those of its non-whitespace characters; a whitespace-only token
   (newline, indentation) belongs to the line of the next non-whitespace character. A token
   is kept if any of its lines ran.
6. Tokens with an empty span or past the end of the program (end-of-sequence, closing fence,
   text cut off after the program) are kept: they are the decision to stop.
7. No mask (all ones) when the program never ran (compile error, no executed lines, coverage
   off, or the program does not parse), so the -1 is still learned from; and when the
   program failed although none of the completion's code ran (it crashed before reaching
   the completion): masking every token would throw the failure signal away, and its cause
   is then the completion as a whole. A passing program whose completion never ran keeps its
   mask: that code had no effect on the reward.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from typing import Any, Iterable

_NON_CODE_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
_NON_SPACE = re.compile(r"\S")


def _line_starts(source: str) -> list[int]:
    # The line breaks of the Python tokenizer, so numbers agree with ast and the tracer.
    return [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", source)]


def _verdict_name(verdict: Any) -> str:
    return str(getattr(verdict, "value", verdict))


def _blocks(node: ast.AST) -> list[list[ast.stmt]]:
    """Statement lists directly under ``node``, in source order."""
    lists = [getattr(node, "body", None)]
    lists += [h.body for h in getattr(node, "handlers", [])]
    lists += [c.body for c in getattr(node, "cases", [])]
    lists += [getattr(node, "orelse", None), getattr(node, "finalbody", None)]
    return [b for b in lists if isinstance(b, list) and b and isinstance(b[0], ast.stmt)]


def _header_start(node: ast.stmt) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _maybe_silent(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Pass, ast.Global, ast.Nonlocal)):
        return True
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _code_lines(program: str) -> set[int]:
    """Lines that hold a code token (a multi-line string covers all of its lines)."""
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(program).readline):
        if tok.type not in _NON_CODE_TOKENS:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


class _Execution:
    """Which statements of a parsed program ran, given the traced lines (rules 1-3)."""

    def __init__(self, tree: ast.Module, executed: set[int]):
        self.executed = executed
        self.ran: dict[int, bool] = {}
        self.owner: dict[int, ast.stmt] = {}  # line -> innermost statement spanning it
        self._visit(tree.body)

    def _visit(self, body: list[ast.stmt]) -> None:
        for node in body:
            for line in range(_header_start(node), node.end_lineno + 1):
                self.owner[line] = node  # inner statements overwrite below
            for block in _blocks(node):
                self._visit(block)
            blocks = _blocks(node)
            if blocks:
                header = range(_header_start(node), blocks[0][0].lineno)
                self.ran[id(node)] = any(l in self.executed for l in header) or self.ran[id(blocks[0][0])]
            else:
                self.ran[id(node)] = any(l in self.executed for l in range(node.lineno, node.end_lineno + 1))
        any_loud = any(self.ran[id(n)] for n in body if not _maybe_silent(n))
        for node in body:
            if _maybe_silent(node):
                self.ran[id(node)] = self.ran[id(node)] or any_loud

    def line_ran(self, line: int) -> bool:
        """State of a code line: its statement's, or the clause's for an ``else:`` line."""
        node = self.owner.get(line)
        if node is None:
            return True  # not inside any statement (cannot happen for a code line)
        blocks = _blocks(node)
        if not blocks or line < blocks[0][0].lineno:
            return self.ran[id(node)]
        # A clause header of `node`: the block that starts next below it (rule 3).
        following = [b[0] for b in blocks if b[0].lineno > line]
        first = min(following, key=lambda s: s.lineno) if following else None
        return line in self.executed or (first is not None and self.ran[id(first)])


def line_states(program: str, executed_lines: Iterable[int]) -> list[bool]:
    """``states[i]`` = whether line ``i`` (1-based; index 0 unused) counts as executed, by
    rules 1-4 of the module docstring. Raises ``SyntaxError`` if ``program`` does not parse."""
    tree = ast.parse(program)
    execution = _Execution(tree, set(executed_lines))
    code = _code_lines(program)
    num_lines = len(_line_starts(program))
    states = [True] * (num_lines + 2)
    following = True  # rule 4: state of the next code line; trailing lines are kept
    for line in range(num_lines, 0, -1):
        if line in code:
            following = execution.line_ran(line)
        states[line] = following
    return states


def fgo_token_mask(
    program: str,
    completion_start: int,
    token_offsets: list[tuple[int, int]],
    executed_lines: Iterable[int] | None,
    verdict: Any,
) -> list[int]:
    """0/1 mask over the completion tokens (1 = the token counts in the policy loss).

    ``token_offsets``: ``(start, end)`` character span of each generated token within the
    completion; ``completion_start``: where the completion starts in ``program`` (the length
    of the CCCS prefix, whose tokens are in the prompt and never in the loss). ``verdict``:
    a ``Verdict`` or its name. See the module docstring for the rules.
    """
    ones = [1] * len(token_offsets)
    if _verdict_name(verdict) == "COMPILE_ERROR" or not executed_lines:
        return ones
    try:
        states = line_states(program, executed_lines)
    except (SyntaxError, ValueError, tokenize.TokenError):
        return ones
    starts = _line_starts(program)
    mask, code_kept = [], False
    for start, end in token_offsets:
        lines = _token_lines(program, starts, completion_start + start, completion_start + end)
        if lines is None:  # rule 6
            mask.append(1)
            continue
        keep = any(states[line] for line in lines)
        code_kept |= keep
        mask.append(int(keep))
    if not code_kept and _verdict_name(verdict) != "PASS":
        return ones  # rule 7: a failure none of whose completion code ran
    return mask


def _token_lines(program: str, starts: list[int], a: int, b: int) -> set[int] | None:
    """Lines of the token spanning ``program[a:b]`` (rule 5); None for rule 6 tokens."""
    b = min(b, len(program))
    if a >= b:
        return None
    chars = [m.start() for m in _NON_SPACE.finditer(program, a, b)]
    if not chars:
        nxt = _NON_SPACE.search(program, b)
        if nxt is None:
            return None  # trailing whitespace: kept like the end of the sequence
        chars = [nxt.start()]
    return {bisect.bisect_right(starts, c) for c in chars}
