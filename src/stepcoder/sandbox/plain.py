"""Plain builtin data <-> JSON, the only form in which a return value leaves the test process.

A test must not trust the candidate's objects: a returned object whose ``__eq__`` always
says True would pass any ``==`` check done with it. So the test process converts the value
to plain data, by *exact* type: None, bool, int, float, complex, str, and
list/tuple/dict/set/frozenset of those, plus the few standard-library containers solutions
return (``Counter``, ``defaultdict``, ``OrderedDict``, ``deque``), the built-in types
themselves (``int``, ``str``, ...) and a regex match (which tests only use for its truth
value: it arrives as an opaque truthy token). A subclass, a
proxy, or any other object cannot be encoded, and the test is a WRONG_ANSWER. The judging
side rebuilds the value from its own, trusted types.

>>> decode(encode((1, [2.5, "a"], {"k": None}, {3})))
(1, [2.5, 'a'], {'k': None}, {3})
"""

from __future__ import annotations

import collections
import json
import math
import re
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


def to_tagged(obj: Any, depth: int = 0, budget: list[int] | None = None, handle: Any = None) -> Any:
    """Tagged JSON form: lists/tuples/dicts/sets become {"l"|"t"|"d"|"s": [...]} so that
    types survive JSON; non-finite floats become {"f": "nan"|"inf"|"-inf"}. ``handle(obj)``,
    if given, names an object that stays where it is ({"h": n}) or returns None."""
    budget = [MAX_ITEMS] if budget is None else budget
    if handle is not None:
        ref = handle(obj)
        if ref is not None:
            return {"h": ref}
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise NotPlainData("return value is too deep or too large")
    kind = type(obj)
    if obj is None or kind is bool or kind is str:
        return obj
    if kind is int:  # beyond 4300 digits int <-> str is refused by Python: hex has no limit
        return obj if -(1 << 53) < obj < (1 << 53) else {"i": hex(obj)}
    if kind is float:
        return obj if math.isfinite(obj) else {"f": repr(obj)}
    if kind is list or kind is tuple:
        return {"l" if kind is list else "t": [to_tagged(x, depth + 1, budget, handle) for x in obj]}
    if kind is set or kind is frozenset:
        return {"s": [to_tagged(x, depth + 1, budget, handle) for x in obj]}
    if kind is dict or kind in _DICTS:
        items = [[to_tagged(k, depth + 1, budget, handle), to_tagged(v, depth + 1, budget, handle)] for k, v in dict.items(obj)]
        if kind is collections.defaultdict:
            factory = obj.default_factory
            return {"D": [_FACTORIES.get(factory) if type(factory) is type else None, items]}
        return {_DICTS.get(kind, "d"): items}
    if kind is collections.deque:
        return {"q": [to_tagged(x, depth + 1, budget, handle) for x in list(obj)]}
    if kind is complex:
        return {"c": [to_tagged(obj.real, depth + 1, budget), to_tagged(obj.imag, depth + 1, budget)]}
    if kind is re.Match:
        return {"m": [repr(obj)[:200]]}
    if kind is type and obj in _TYPE_NAMES:  # MBPP passes `int`, `str` as arguments
        return {"T": _TYPE_NAMES[obj]}
    return to_tagged(_numpy_to_builtin(obj), depth + 1, budget, handle)


_DICTS = {collections.Counter: "C", collections.OrderedDict: "O", collections.defaultdict: "D"}
_FACTORIES = {t: t.__name__ for t in (list, int, set, dict, str, float, tuple, bool, frozenset)}
_FACTORY_TYPES = {name: t for t, name in _FACTORIES.items()}
_TYPE_NAMES = {t: t.__name__ for t in (int, float, complex, str, bytes, bool, list, tuple, dict, set, frozenset, type(None))}
_TYPES = {name: t for t, name in _TYPE_NAMES.items()}


class RegexMatch:
    """What the judging side gets for a regex match: truthy, equal only to itself."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


class BadTaggedData(ValueError):
    """Tagged data that :func:`to_tagged` cannot have written."""


_SCALARS = (type(None), bool, int, float, str)
_NON_FINITE = {"nan", "inf", "-inf"}


def from_tagged(obj: Any, depth: int = 0, resolve: Any = None) -> Any:
    """Inverse of :func:`to_tagged` (sets come back as frozensets, so they nest). Input is
    untrusted: anything :func:`to_tagged` could not have produced is a :class:`BadTaggedData`.
    ``resolve(n)`` turns a handle {"h": n} back into its object (only where handles are allowed)."""
    if depth > MAX_DEPTH + 1:
        raise BadTaggedData("too deep")
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    if kind is not dict or len(obj) != 1:
        raise BadTaggedData(f"not tagged data: {kind.__name__}")
    (tag, value), = obj.items()
    if tag == "f" and type(value) is str and value in _NON_FINITE:
        return float(value)
    if tag == "T" and type(value) is str and value in _TYPES:
        return _TYPES[value]
    if tag == "h" and resolve is not None and type(value) is int:
        return resolve(value)
    if tag == "i" and type(value) is str:
        try:
            return int(value, 16)
        except ValueError:
            raise BadTaggedData("bad big int") from None
    if type(value) is not list:
        raise BadTaggedData(f"tag {str(tag)[:10]!r} without a list")
    if tag == "l":
        return [from_tagged(x, depth + 1, resolve) for x in value]
    if tag == "t":
        return tuple(from_tagged(x, depth + 1, resolve) for x in value)
    if tag == "q":
        return collections.deque(from_tagged(x, depth + 1, resolve) for x in value)
    if tag == "c" and len(value) == 2 and all(type(x) in (int, float) or type(x) is dict for x in value):
        re_, im = (from_tagged(x, depth + 1, resolve) for x in value)
        if type(re_) is float and type(im) is float:
            return complex(re_, im)
    if tag == "m" and len(value) == 1 and type(value[0]) is str:
        return RegexMatch(value[0])
    try:
        if tag == "s":
            return {_hashable(from_tagged(x, depth + 1, resolve)) for x in value}
        if tag in ("d", "C", "O"):
            return {"d": dict, "C": collections.Counter, "O": collections.OrderedDict}[tag](dict(_pairs(value, depth, resolve)))
        if tag == "D" and len(value) == 2 and (value[0] is None or value[0] in _FACTORY_TYPES) and type(value[1]) is list:
            return collections.defaultdict(_FACTORY_TYPES.get(value[0]), _pairs(value[1], depth, resolve))
    except TypeError:  # an unhashable key or set item
        raise BadTaggedData("unhashable key") from None
    raise BadTaggedData(f"unknown tag {str(tag)[:10]!r}")


def _pairs(value: list[Any], depth: int, resolve: Any = None) -> list[tuple[Any, Any]]:
    if not all(type(kv) is list and len(kv) == 2 for kv in value):
        raise BadTaggedData("dict items must be pairs")
    return [(_hashable(from_tagged(k, depth + 1, resolve)), from_tagged(v, depth + 1, resolve)) for k, v in value]


def _hashable(x: Any) -> Any:
    """A decoded value as a dict key or set item: lists become tuples, sets frozensets."""
    if type(x) is list:
        return tuple(_hashable(v) for v in x)
    if type(x) is set:
        return frozenset(_hashable(v) for v in x)
    return x


def encode(obj: Any) -> str:
    return json.dumps(to_tagged(obj))


def decode(text: str) -> Any:
    return from_tagged(json.loads(text))
