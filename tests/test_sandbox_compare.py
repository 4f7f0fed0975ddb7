"""Output comparison and plain-data encoding (no processes)."""

from __future__ import annotations

import math

import pytest

from stepcoder.sandbox.compare import stdout_matches, values_match
from stepcoder.sandbox.config import SandboxConfig
from stepcoder.sandbox.plain import NotPlainData, decode, encode, to_tagged

TOL = dict(rel_tol=1e-6, abs_tol=1e-6)


@pytest.mark.parametrize("got, want, ok", [
    ("3\n", "3\n", True),
    ("3   \n\n\n", "3", True),            # trailing spaces and blank lines
    ("1 2\r\n3\r\n", "1 2\n3\n", True),   # CRLF
    ("1\n2\n3", "1 2 3", True),           # tokens spread over lines differently
    ("0.3333333", "0.333333333", True),   # |diff| = 3.3e-8 <= 1e-6
    ("0.334", "0.333", False),            # |diff| = 1e-3
    ("1000001", "1000000", True),         # relative: 1 <= 1e-6 * 1e6
    ("1000002", "1000000", False),        # relative: 2 > 1
    ("YES", "yes", False),
    ("3 4", "3", False),
    ("", "", True),
    ("nan", "0", False),                  # words are not numbers
])
def test_stdout_matches(got: str, want: str, ok: bool) -> None:
    assert stdout_matches(got, want, **TOL) is ok


@pytest.mark.parametrize("got, want, ok", [
    ((1, 2), [1, 2], True),
    ([1, [2, (3,)]], [1, [2, [3]]], True),
    (0.1 + 0.2, 0.3, True),
    (1.001, 1, False),
    (True, 1, True),                      # Python equality (APPS+ data stores 1 for True)
    ("1", 1, False),
    (None, 0, False),
    ({"a": 1.0000000001}, {"a": 1}, True),
    ({"a": 1}, {"b": 1}, False),
    (frozenset({1, 2}), [2, 1], True),
    (10 ** 400, 10 ** 400, True),
    (10 ** 400 + 1, float(1e300), False),
    (math.nan, math.nan, True),
])
def test_values_match(got, want, ok: bool) -> None:
    assert values_match(got, want, **TOL) is ok


def test_plain_roundtrip_keeps_types() -> None:
    value = [1, 2.5, "s", None, True, (1, 2), {"k": [1]}, {3, 4}, math.inf]
    back = decode(encode(value))
    assert back[:5] == [1, 2.5, "s", None, True]
    assert type(back[5]) is tuple and back[6] == {"k": [1]} and back[7] == frozenset({3, 4})
    assert back[8] == math.inf


def test_plain_rejects_objects_and_subclasses() -> None:
    class Liar:
        def __eq__(self, other):
            return True

    class LyingStr(str):
        def __eq__(self, other):
            return True

    for value in (Liar(), LyingStr("x"), [1, Liar()], {"k": LyingStr("y")}):
        with pytest.raises(NotPlainData):
            to_tagged(value)


def test_plain_converts_numpy() -> None:
    np = pytest.importorskip("numpy")
    assert decode(encode([np.int64(3), np.float64(0.5), np.arange(3)])) == [3, 0.5, [0, 1, 2]]


def test_config_validates() -> None:
    with pytest.raises(ValueError, match="isolation"):
        SandboxConfig(isolation="docker")
    with pytest.raises(ValueError, match="wall_factor"):
        SandboxConfig(wall_factor=0.5)
    assert SandboxConfig(timeout_s=2.0, wall_factor=3.0).wall_timeout_s == 2.0 * 3.0
