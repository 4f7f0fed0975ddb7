"""Plain builtin data <-> JSON, the only form in which a return value leaves the test process.

A call-based test must not trust the candidate's objects: a returned object whose ``__eq__``
always says True would pass any ``==`` check done with it. So the test process converts the
value to plain data (None, bool, int, float, str and lists/tuples/dicts/sets of those, by
*exact* type) and the parent compares what it decodes. Anything else cannot be encoded and
the test is a WRONG_ANSWER.

>>> decode(encode((1, [2.5, "a"], {"k": None}, {3})))
(1, [2.5, 'a'], {'k': None}, frozenset({3}))
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 100
MAX_ITEMS = 1_000_000


class NotPlainData(TypeError):
    """The value (or something inside it) is not plain builtin data."""


def _numpy_to_builtin(obj: Any) -> Any:
    # numpy scalars/arrays are converted by numpy's own C code (.item()/.tolist()), which
    # returns builtins whatever a subclass overrides in Python: solutions often return them.
    import sys

    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, (np.generic, np.ndarray)):
        return np.ndarray.tolist(obj) if isinstance(obj, np.ndarray) else np.generic.item(obj)
    raise NotPlainData(f"return value contains a {type(obj).__module__}.{type(obj).__qualname__}")


def to_tagged(obj: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Tagged JSON form: lists/tuples/dicts/sets become {"l"|"t"|"d"|"s": [...]} so that
    types survive JSON; non-finite floats become {"f": "nan"|"inf"|"-inf"}."""
    budget = [MAX_ITEMS] if budget is None else budget
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise NotPlainData("return value is too deep or too large")
    kind = type(obj)
    if obj is None or kind is bool or kind is int or kind is str:
        return obj
    if kind is float:
        return obj if math.isfinite(obj) else {"f": repr(obj)}
    if kind is list or kind is tuple:
        return {"l" if kind is list else "t": [to_tagged(x, depth + 1, budget) for x in obj]}
    if kind is set or kind is frozenset:
        return {"s": [to_tagged(x, depth + 1, budget) for x in obj]}
    if kind is dict:
        return {"d": [[to_tagged(k, depth + 1, budget), to_tagged(v, depth + 1, budget)] for k, v in obj.items()]}
    return to_tagged(_numpy_to_builtin(obj), depth + 1, budget)


def from_tagged(obj: Any) -> Any:
    """Inverse of :func:`to_tagged` (sets come back as frozensets, so they nest)."""
    if not isinstance(obj, dict):
        return obj
    (tag, value), = obj.items()
    if tag == "f":
        return float(value)
    if tag == "l":
        return [from_tagged(x) for x in value]
    if tag == "t":
        return tuple(from_tagged(x) for x in value)
    if tag == "s":
        return frozenset(_hashable(from_tagged(x)) for x in value)
    if tag == "d":
        return {_hashable(from_tagged(k)): from_tagged(v) for k, v in value}
    raise ValueError(f"unknown tag {tag!r}")


def _hashable(x: Any) -> Any:
    return tuple(_hashable(v) for v in x) if isinstance(x, list) else x


def encode(obj: Any) -> str:
    return json.dumps(to_tagged(obj))


def decode(text: str) -> Any:
    return from_tagged(json.loads(text))
