"""Output comparison: what counts as the right answer.

stdout (APPS-style, the tolerance of the APPS harness without its try-everything cascade):
both texts are split into whitespace-separated tokens (so trailing spaces, trailing blank
lines, CRLF and how tokens are spread over lines do not matter); the token lists must have
the same length and each pair must be equal as strings or, when both are numbers, within
``abs_tol`` or ``rel_tol`` of each other (``"1.0000001"`` matches ``"1"``; ``"YES"`` does not
match ``"yes"``).

Return values (call-based tests): compared as plain data decoded in the parent (see
:mod:`stepcoder.sandbox.plain`): a list and a tuple with equal items are equal (JSON
test data cannot store tuples); int and float within tolerance; a bool equals the number as in
Python (``True == 1``: APPS+ canonical solutions return ``True`` where the data says ``1``, and
the APPS harness compares with ``==``); strings exactly; dict keys exactly, values recursively; sets exactly.

>>> stdout_matches("3 \\n\\n", "3\\n", 1e-6, 1e-6)
True
>>> stdout_matches("0.3333333", "0.333333333", 1e-6, 1e-6)
True
>>> values_match((1, 2.0000000001), [1, 2], 1e-6, 1e-6)
True
>>> values_match("1", 1, 1e-6, 1e-6)
False
"""

from __future__ import annotations

import math
import re
from typing import Any

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def numbers_close(a: float, b: float, rel_tol: float, abs_tol: float) -> bool:
    try:
        a, b = float(a), float(b)
    except OverflowError:  # an int too large for a float: only exact equality
        return a == b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def _tokens_match(got: str, want: str, rel_tol: float, abs_tol: float) -> bool:
    if got == want:
        return True
    if _NUMBER.fullmatch(got) and _NUMBER.fullmatch(want):
        return numbers_close(got, want, rel_tol, abs_tol)
    return False


def stdout_matches(got: str, want: str, rel_tol: float, abs_tol: float) -> bool:
    """True when ``got`` equals ``want`` token by token (see the module docstring)."""
    got_tokens, want_tokens = got.split(), want.split()
    if len(got_tokens) != len(want_tokens):
        return False
    return all(_tokens_match(g, w, rel_tol, abs_tol) for g, w in zip(got_tokens, want_tokens))


def values_match(got: Any, want: Any, rel_tol: float, abs_tol: float) -> bool:
    """True when plain data ``got`` equals the expected value ``want`` (module docstring)."""
    if isinstance(got, (int, float)) and isinstance(want, (int, float)):
        if isinstance(got, int) and isinstance(want, int):
            return got == want
        return numbers_close(got, want, rel_tol, abs_tol)
    if isinstance(got, (list, tuple)) and isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(values_match(g, w, rel_tol, abs_tol) for g, w in zip(got, want))
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(values_match(got[k], want[k], rel_tol, abs_tol) for k in got)
    if isinstance(got, (set, frozenset)) and isinstance(want, (set, frozenset, list, tuple)):
        try:
            return got == frozenset(want)
        except TypeError:  # unhashable items in the expected list
            return False
    return type(got) is type(want) and got == want
