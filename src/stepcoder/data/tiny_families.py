"""The problem families of the bundled tiny dataset, written for this project.

Each family is a template: constants drawn by ``params`` appear in both the prompt and the
solution (so a small model can learn to copy them), ``cases`` draws test inputs that reach
every branch, and ``answer`` is a reference implementation that computes the expected
outputs (the tests then check that the solution text agrees with it).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WORDS = ["yes", "no", "even", "odd", "big", "small", "hot", "cold", "up", "down",
         "on", "off", "good", "bad", "win", "lose", "high", "low", "left", "right"]


@dataclass(frozen=True)
class Family:
    """A parameterised problem: ``prompt``/``solution`` are ``str.format`` templates."""

    name: str
    kind: str  # "stdio" (top-level program) or "call" (the function ``fn_name``)
    difficulty: str
    prompt: str
    solution: str
    params: Callable[[random.Random], dict[str, Any]]
    cases: Callable[[random.Random, dict[str, Any]], list[Any]]  # stdin values or arg tuples
    answer: Callable[..., Any]  # (params, *case) -> expected value (list = output lines)
    fn_name: str | None = None
    out_of_family: bool = False  # only in the separate out-of-family split

    @property
    def bug(self) -> tuple[str, str] | None:
        """``(old, new)``: the family's plausible wrong demonstration is ``solution`` with
        ``old`` replaced by ``new`` (see ``BUGS``)."""
        return BUGS.get(self.name)

    def wrong_solution(self, params: dict[str, Any]) -> str:
        old, new = self.bug
        return self.solution.replace(old, new, 1).format(**params)


def _word(r: random.Random) -> str:
    return "".join(r.choice(string.ascii_lowercase) for _ in range(r.randint(3, 8)))


def _nums(r: random.Random, lo: int = -20, hi: int = 40) -> list[int]:
    return [r.randint(lo, hi) for _ in range(r.randint(3, 7))]


def _words(r: random.Random, n: int) -> dict[str, str]:
    return {f"w{i + 1}": w for i, w in enumerate(r.sample(WORDS, n))}


def _ints(r: random.Random, lo: int, hi: int, n: int = 3) -> list[int]:
    return [r.randint(lo, hi) for _ in range(n)]


def _grade(p: dict[str, int], s: int) -> str:
    return "A" if s >= p["a"] else "B" if s >= p["b"] else "C" if s >= p["c"] else "D"


def _fizz(p: dict[str, Any], n: int) -> list[str]:
    out = []
    for i in range(1, n + 1):
        out.append(p["w1"] if i % p["k1"] == 0 else p["w2"] if i % p["k2"] == 0 else str(i))
    return out


def _countdown(p: dict[str, int], n: int) -> list[str]:
    out = []
    while n > 0:
        out.append(str(n))
        n -= p["k"]
    return out


def _first_index(p: dict[str, int], nums: list[int]) -> int:
    return nums.index(p["k"]) if p["k"] in nums else -1


def _digit_cases(r: random.Random, p: dict[str, Any]) -> list[tuple[int]]:
    return [(0,), (r.randint(1, 9),), (r.randint(100, 99999),)]


def _ascending(r: random.Random, names: str) -> dict[str, int]:
    values = sorted(r.sample(range(-30, 80), len(names)))
    return dict(zip(names, values))


def _band(p: dict[str, Any], n: int) -> str:
    for bound, word in (("a", "w1"), ("b", "w2"), ("c", "w3"), ("d", "w4")):
        if n < p[bound]:
            return p[word]
    return p["w5"]


def _band_cases(r: random.Random, p: dict[str, Any]) -> list[int]:
    # three of the five bands: the other two branches stay unexecuted (FGO has code to mask)
    bounds = [p["a"] - 10, p["a"], p["b"], p["c"], p["d"], p["d"] + 10]
    bands = sorted(r.sample(range(5), 3))
    return [r.randint(bounds[i], bounds[i + 1] - 1) for i in bands]


def _calc(p: dict[str, Any], case: list[Any]) -> int:
    a, op, b = case
    return {"+": a + b, "-": a - b, "*": a * b}.get(op, a // b if b else 0) + p["k"]


def _calc_cases(r: random.Random, p: dict[str, Any]) -> list[list[Any]]:
    ops = r.sample("+-*/", 2)  # two of the four operators: two branches never run
    return [[r.randint(-20, 20), r.choice(ops), r.choice([1, 2, 3, 5, 7, -4])] for _ in range(3)]


def _tag(p: dict[str, Any], nums: list[int]) -> list[Any]:
    return [p["w1"] if x % p["k1"] == 0 else p["w2"] if x % p["k2"] == 0 else p["w3"] if x < 0 else x for x in nums]


FAMILIES: list[Family] = [
    Family("mul", "stdio", "introductory", "Read an integer n and print n * {k}.",
           "n = int(input())\nprint(n * {k})\n",
           lambda r: {"k": r.randint(2, 99)}, lambda r, p: _ints(r, -50, 50),
           lambda p, n: n * p["k"]),
    Family("add", "stdio", "introductory", "Read an integer n and print n + {k}.",
           "n = int(input())\nprint(n + {k})\n",
           lambda r: {"k": r.randint(1, 99)}, lambda r, p: _ints(r, -50, 50),
           lambda p, n: n + p["k"]),
    Family("sum_pair", "stdio", "introductory", "Read two integers a and b on one line and print a + b + {k}.",
           "a, b = map(int, input().split())\nprint(a + b + {k})\n",
           lambda r: {"k": r.randint(1, 99)}, lambda r, p: [_ints(r, -30, 30, 2) for _ in range(3)],
           lambda p, ab: ab[0] + ab[1] + p["k"]),
    Family("parity", "stdio", "introductory", "Read an integer n. If n is even print {w1}, otherwise print {w2}.",
           "n = int(input())\nif n % 2 == 0:\n    print(\"{w1}\")\nelse:\n    print(\"{w2}\")\n",
           lambda r: _words(r, 2), lambda r, p: [2 * r.randint(-20, 20), 2 * r.randint(-20, 20) + 1, r.randint(-40, 40)],
           lambda p, n: p["w1"] if n % 2 == 0 else p["w2"]),
    Family("threshold", "stdio", "introductory", "Read an integer n. Print {w1} if n > {k}, otherwise print {w2}.",
           "n = int(input())\nif n > {k}:\n    print(\"{w1}\")\nelse:\n    print(\"{w2}\")\n",
           lambda r: {"k": r.randint(-20, 50), **_words(r, 2)},
           lambda r, p: [p["k"] + r.randint(1, 9), p["k"] - r.randint(0, 9), p["k"]],
           lambda p, n: p["w1"] if n > p["k"] else p["w2"]),
    Family("sign", "stdio", "introductory", "Read an integer n. Print {w1} if n < 0, {w2} if n == 0, otherwise {w3}.",
           "n = int(input())\nif n < 0:\n    print(\"{w1}\")\nelif n == 0:\n    print(\"{w2}\")\nelse:\n    print(\"{w3}\")\n",
           lambda r: _words(r, 3), lambda r, p: [-r.randint(1, 50), 0, r.randint(1, 50)],
           lambda p, n: p["w1"] if n < 0 else p["w2"] if n == 0 else p["w3"]),
    Family("clamp", "stdio", "interview", "Read an integer n. Print {lo} if n < {lo}, {hi} if n > {hi}, otherwise n.",
           "n = int(input())\nif n < {lo}:\n    print({lo})\nelif n > {hi}:\n    print({hi})\nelse:\n    print(n)\n",
           lambda r: (lambda lo: {"lo": lo, "hi": lo + r.randint(2, 30)})(r.randint(-20, 20)),
           lambda r, p: [p["lo"] - r.randint(1, 9), p["hi"] + r.randint(1, 9), r.randint(p["lo"], p["hi"])],
           lambda p, n: min(max(n, p["lo"]), p["hi"])),
    Family("grade", "call", "interview",
           "Write grade(s) that returns \"A\" if s >= {a}, \"B\" if s >= {b}, \"C\" if s >= {c}, else \"D\".",
           "def grade(s):\n    if s >= {a}:\n        return \"A\"\n    elif s >= {b}:\n        return \"B\"\n"
           "    elif s >= {c}:\n        return \"C\"\n    return \"D\"\n",
           lambda r: (lambda c: (lambda b: {"c": c, "b": b, "a": b + r.randint(5, 15)})(c + r.randint(5, 15)))(r.randint(30, 60)),
           lambda r, p: [(p["a"] + r.randint(0, 5),), (r.randint(p["b"], p["a"] - 1),), (r.randint(0, p["c"] - 1),)],
           _grade, fn_name="grade"),
    Family("count_letters", "stdio", "introductory",
           "Read a word and print how many of its letters are in \"{letters}\".",
           "s = input()\ncount = 0\nfor ch in s:\n    if ch in \"{letters}\":\n        count += 1\nprint(count)\n",
           lambda r: {"letters": "".join(sorted(r.sample(string.ascii_lowercase, 3)))},
           lambda r, p: [_word(r) + p["letters"][0], _word(r), p["letters"] * 2],
           lambda p, s: sum(ch in p["letters"] for ch in s)),
    Family("repeat_join", "stdio", "introductory",
           "Read a word and print it {k} times on one line, joined by \"{sep}\".",
           "w = input()\nparts = []\nfor i in range({k}):\n    parts.append(w)\nprint(\"{sep}\".join(parts))\n",
           lambda r: {"k": r.randint(2, 12), "sep": r.choice("-+,:*/.;|_")},
           lambda r, p: [_word(r) for _ in range(3)],
           lambda p, w: p["sep"].join([w] * p["k"])),
    Family("sum_range", "stdio", "introductory", "Read n and print the sum of i * {k} for i from 1 to n.",
           "n = int(input())\ntotal = 0\nfor i in range(1, n + 1):\n    total += i * {k}\nprint(total)\n",
           lambda r: {"k": r.randint(2, 99)}, lambda r, p: [0, 1, r.randint(2, 30)],
           lambda p, n: p["k"] * n * (n + 1) // 2),
    Family("count_div", "stdio", "introductory",
           "Read integers on one line and print how many of them are divisible by {k}.",
           "nums = list(map(int, input().split()))\ncount = 0\nfor x in nums:\n    if x % {k} == 0:\n        count += 1\nprint(count)\n",
           lambda r: {"k": r.randint(2, 120)},
           lambda r, p: [_nums(r) + [p["k"] * r.randint(1, 3)] for _ in range(3)],
           lambda p, nums: sum(x % p["k"] == 0 for x in nums)),
    Family("fizz", "stdio", "interview",
           "Read n. For i from 1 to n print {w1} if i is divisible by {k1}, {w2} if divisible by {k2}, otherwise i.",
           "n = int(input())\nfor i in range(1, n + 1):\n    if i % {k1} == 0:\n        print(\"{w1}\")\n"
           "    elif i % {k2} == 0:\n        print(\"{w2}\")\n    else:\n        print(i)\n",
           lambda r: dict(zip(("k1", "k2"), r.sample(range(2, 8), 2)), **_words(r, 2)),
           lambda r, p: [1, r.randint(7, 15), r.randint(10, 20)],
           _fizz),
    Family("countdown", "stdio", "introductory",
           "Read n. While n is positive, print n and subtract {k}.",
           "n = int(input())\nwhile n > 0:\n    print(n)\n    n -= {k}\n",
           lambda r: {"k": r.randint(1, 120)}, lambda r, p: [r.randint(1, 60), r.randint(1, 60), 0],
           _countdown),
    Family("sum_above", "stdio", "introductory",
           "Read integers on one line and print the sum of those greater than {k}.",
           "nums = list(map(int, input().split()))\ntotal = 0\nfor x in nums:\n    if x > {k}:\n        total += x\nprint(total)\n",
           lambda r: {"k": r.randint(-60, 60)}, lambda r, p: [_nums(r) + [p["k"] + 1] for _ in range(3)],
           lambda p, nums: sum(x for x in nums if x > p["k"])),
    Family("max_plus", "stdio", "introductory",
           "Read integers on one line and print the largest one plus {k}.",
           "nums = list(map(int, input().split()))\nbest = nums[0]\nfor x in nums:\n    if x > best:\n        best = x\nprint(best + {k})\n",
           lambda r: {"k": r.randint(1, 99)}, lambda r, p: [_nums(r) for _ in range(3)],
           lambda p, nums: max(nums) + p["k"]),
    Family("reverse_suffix", "stdio", "introductory",
           "Read a word and print it reversed, followed by \"{w1}\".",
           "s = input()\nprint(s[::-1] + \"{w1}\")\n",
           lambda r: {"w1": _word(r)[:4]}, lambda r, p: [_word(r) for _ in range(3)],
           lambda p, s: s[::-1] + p["w1"]),
    Family("linear", "call", "introductory", "Write linear(a, b) that returns a * {k1} + b * {k2}.",
           "def linear(a, b):\n    return a * {k1} + b * {k2}\n",
           lambda r: {"k1": r.randint(2, 20), "k2": r.randint(2, 20)},
           lambda r, p: [tuple(_ints(r, -20, 20, 2)) for _ in range(3)],
           lambda p, a, b: a * p["k1"] + b * p["k2"], fn_name="linear"),
    Family("is_div", "call", "introductory",
           "Write is_div(n) that returns True if n is divisible by {k}, else False.",
           "def is_div(n):\n    if n % {k} == 0:\n        return True\n    return False\n",
           lambda r: {"k": r.randint(2, 99)},
           lambda r, p: [(p["k"] * r.randint(-5, 5),), (p["k"] * r.randint(1, 5) + 1,), (r.randint(-99, 99),)],
           lambda p, n: n % p["k"] == 0, fn_name="is_div"),
    Family("count_char", "call", "introductory",
           "Write count_char(s) that returns {k} plus how many times \"{c}\" appears in s.",
           "def count_char(s):\n    count = {k}\n    for ch in s:\n        if ch == \"{c}\":\n            count += 1\n    return count\n",
           lambda r: {"c": r.choice(string.ascii_lowercase), "k": r.randint(0, 20)},
           lambda r, p: [(_word(r) + p["c"],), (_word(r),), (p["c"] * 3 + _word(r),)],
           lambda p, s: s.count(p["c"]) + p["k"], fn_name="count_char"),
    Family("dist", "call", "introductory",
           "Write dist(a, b) that returns the absolute difference of a and b plus {k}.",
           "def dist(a, b):\n    if a > b:\n        return a - b + {k}\n    return b - a + {k}\n",
           lambda r: {"k": r.randint(1, 99)},
           lambda r, p: [(r.randint(10, 20), r.randint(0, 9)), (r.randint(0, 9), r.randint(10, 20)), (5, 5)],
           lambda p, a, b: abs(a - b) + p["k"], fn_name="dist"),
    Family("keep_above", "call", "introductory",
           "Write keep_above(nums) that returns the numbers in nums greater than {k}, in order.",
           "def keep_above(nums):\n    out = []\n    for x in nums:\n        if x > {k}:\n            out.append(x)\n    return out\n",
           lambda r: {"k": r.randint(-60, 60)}, lambda r, p: [(_nums(r) + [p["k"] + 1],) for _ in range(2)] + [([],)],
           lambda p, nums: [x for x in nums if x > p["k"]], fn_name="keep_above"),
    Family("label", "call", "interview",
           "Write label(n) that returns \"{w1}\" if n < {k1}, \"{w2}\" if n < {k2}, else \"{w3}\".",
           "def label(n):\n    if n < {k1}:\n        return \"{w1}\"\n    elif n < {k2}:\n        return \"{w2}\"\n    return \"{w3}\"\n",
           lambda r: (lambda k1: {"k1": k1, "k2": k1 + r.randint(3, 30), **_words(r, 3)})(r.randint(-20, 40)),
           lambda r, p: [(p["k1"] - r.randint(1, 9),), (r.randint(p["k1"], p["k2"] - 1),), (p["k2"] + r.randint(0, 9),)],
           lambda p, n: p["w1"] if n < p["k1"] else p["w2"] if n < p["k2"] else p["w3"], fn_name="label"),
    Family("digit_sum", "call", "interview",
           "Write digit_sum(n) that returns the sum of the digits of n plus {k} (n >= 0).",
           "def digit_sum(n):\n    total = {k}\n    while n > 0:\n        total += n % 10\n        n //= 10\n    return total\n",
           lambda r: {"k": r.randint(1, 99)}, _digit_cases,
           lambda p, n: sum(map(int, str(n))) + p["k"], fn_name="digit_sum"),
    Family("find", "call", "interview",
           "Write find(nums) that returns the index of the first element equal to {k}, or -1 if there is none.",
           "def find(nums):\n    for i in range(len(nums)):\n        if nums[i] == {k}:\n            return i\n    return -1\n",
           lambda r: {"k": r.randint(-40, 80)},
           lambda r, p: [([x for x in _nums(r) if x != p["k"]] + [p["k"]] * 2,), ([x for x in _nums(r) if x != p["k"]],), ([p["k"]],)],
           _first_index, fn_name="find"),
    # Longer programs with several conditionals (CCCS: a whole program is hard to sample at
    # once) whose tests leave some branches unexecuted (FGO: those tokens had no effect).
    Family("bands", "stdio", "interview",
           "Read an integer n. Print {w1} if n < {a}, {w2} if n < {b}, {w3} if n < {c}, {w4} if n < {d}, otherwise {w5}.",
           "n = int(input())\nif n < {a}:\n    print(\"{w1}\")\nelif n < {b}:\n    print(\"{w2}\")\n"
           "elif n < {c}:\n    print(\"{w3}\")\nelif n < {d}:\n    print(\"{w4}\")\nelse:\n    print(\"{w5}\")\n",
           lambda r: {**_ascending(r, "abcd"), **_words(r, 5)}, _band_cases, _band),
    Family("calc", "stdio", "interview",
           "Read a, an operator (+, -, * or /) and b on one line, and print the result plus {k} (/ is floor division).",
           "a, op, b = input().split()\na = int(a)\nb = int(b)\nif op == \"+\":\n    print(a + b + {k})\n"
           "elif op == \"-\":\n    print(a - b + {k})\nelif op == \"*\":\n    print(a * b + {k})\nelse:\n    print(a // b + {k})\n",
           lambda r: {"k": r.randint(1, 99)}, _calc_cases, _calc),
    Family("spread", "stdio", "interview",
           "Read integers on one line and print how many are below {lo}, how many are above {hi}, and how many are in between.",
           "nums = list(map(int, input().split()))\nlow = 0\nmid = 0\nhigh = 0\nfor x in nums:\n    if x < {lo}:\n"
           "        low += 1\n    elif x > {hi}:\n        high += 1\n    else:\n        mid += 1\nprint(low, mid, high)\n",
           lambda r: (lambda lo: {"lo": lo, "hi": lo + r.randint(3, 20)})(r.randint(-15, 15)),
           lambda r, p: [_nums(r) for _ in range(3)],
           lambda p, nums: " ".join(map(str, (sum(x < p["lo"] for x in nums), sum(p["lo"] <= x <= p["hi"] for x in nums),
                                               sum(x > p["hi"] for x in nums))))),
    Family("safe_div", "call", "introductory",
           "Write safe_div(a, b) that returns {k} if b is 0, otherwise a // b + {m}.",
           "def safe_div(a, b):\n    if b == 0:\n        return {k}\n    return a // b + {m}\n",
           lambda r: {"k": r.randint(-9, 99), "m": r.randint(1, 50)},
           lambda r, p: [(r.randint(-50, 50), r.choice([-5, -3, -2, 2, 3, 4, 7])) for _ in range(3)],  # b never 0
           lambda p, a, b: p["k"] if b == 0 else a // b + p["m"], fn_name="safe_div"),
    Family("price", "call", "interview",
           "Write price(age) that returns -1 if age < 0, {p1} if age < {a}, {p2} if age < {b}, else {p3}.",
           "def price(age):\n    if age < 0:\n        return -1\n    if age < {a}:\n        return {p1}\n"
           "    elif age < {b}:\n        return {p2}\n    return {p3}\n",
           lambda r: (lambda a: {"a": a, "b": a + r.randint(10, 40), "p1": r.randint(1, 20), "p2": r.randint(21, 60),
                                 "p3": r.randint(5, 40)})(r.randint(5, 18)),
           lambda r, p: [(r.randint(0, p["a"] - 1),), (r.randint(p["a"], p["b"] - 1),), (p["b"] + r.randint(0, 30),)],
           lambda p, age: -1 if age < 0 else p["p1"] if age < p["a"] else p["p2"] if age < p["b"] else p["p3"],
           fn_name="price"),
    Family("tag", "call", "interview",
           "Write tag(nums) that returns a list with \"{w1}\" for numbers divisible by {k1}, \"{w2}\" for numbers "
           "divisible by {k2}, \"{w3}\" for other negative numbers, and the number itself otherwise.",
           "def tag(nums):\n    out = []\n    for x in nums:\n        if x % {k1} == 0:\n            out.append(\"{w1}\")\n"
           "        elif x % {k2} == 0:\n            out.append(\"{w2}\")\n        elif x < 0:\n            out.append(\"{w3}\")\n"
           "        else:\n            out.append(x)\n    return out\n",
           lambda r: dict(zip(("k1", "k2"), r.sample(range(2, 10), 2)), **_words(r, 3)),
           lambda r, p: [(_nums(r, 1, 40),) for _ in range(3)],  # no negative numbers: w3's branch never runs
           _tag, fn_name="tag"),
    Family("top", "call", "introductory",
           "Write top(a, b, c) that returns the largest of a, b and c plus {k}.",
           "def top(a, b, c):\n    if a >= b and a >= c:\n        return a + {k}\n    elif b >= c:\n        return b + {k}\n"
           "    return c + {k}\n",
           lambda r: {"k": r.randint(1, 99)}, lambda r, p: [tuple(_ints(r, -30, 30)) for _ in range(3)],
           lambda p, a, b, c: max(a, b, c) + p["k"], fn_name="top"),
    # Out-of-family problems: similar shapes, wording no training problem uses. Reported on
    # their own line, never mixed into the in-family held-out figure.
    Family("count_below", "stdio", "introductory",
           "Read integers on one line and print how many of them are less than {k}.",
           "nums = list(map(int, input().split()))\ncount = 0\nfor x in nums:\n    if x < {k}:\n        count += 1\nprint(count)\n",
           lambda r: {"k": r.randint(-20, 30)}, lambda r, p: [_nums(r) + [p["k"] - 1] for _ in range(3)],
           lambda p, nums: sum(x < p["k"] for x in nums), out_of_family=True),
    Family("between", "stdio", "introductory",
           "Read an integer n. Print {w1} if {lo} <= n <= {hi}, otherwise print {w2}.",
           "n = int(input())\nif {lo} <= n <= {hi}:\n    print(\"{w1}\")\nelse:\n    print(\"{w2}\")\n",
           lambda r: (lambda lo: {"lo": lo, "hi": lo + r.randint(1, 30), **_words(r, 2)})(r.randint(-20, 40)),
           lambda r, p: [r.randint(p["lo"], p["hi"]), p["lo"] - r.randint(1, 9), p["hi"] + r.randint(1, 9)],
           lambda p, n: p["w1"] if p["lo"] <= n <= p["hi"] else p["w2"], out_of_family=True),
    Family("swap_char", "call", "introductory",
           "Write swap_char(s) that returns s with every \"{c}\" replaced by \"{d}\".",
           "def swap_char(s):\n    out = \"\"\n    for ch in s:\n        if ch == \"{c}\":\n            out += \"{d}\"\n        else:\n            out += ch\n    return out\n",
           lambda r: dict(zip("cd", r.sample(string.ascii_lowercase, 2))),
           lambda r, p: [(_word(r) + p["c"],), (p["c"] * 2 + _word(r),), ("",)],
           lambda p, s: s.replace(p["c"], p["d"]), fn_name="swap_char", out_of_family=True),
]


# A plausible wrong program per family: what half of its demonstrations hold instead of the
# correct one (``tiny.NOISY_SHARE``), the way scraped solutions hold off-by-ones, flipped
# comparisons and swapped branches. SFT learns a mixture it cannot tell apart from the text
# alone; running the program against the tests can (docs/tiny_benchmark.md). Each bug fails at
# least one test of every instance (tests/test_tiny_problems.py); ``bands``, ``calc`` and
# ``top`` have none, since their tests do not reach every branch.
BUGS: dict[str, tuple[str, str]] = {
    "mul": ("print(n * {k})", "print(n * {k} - 1)"),
    "add": ("print(n + {k})", "print(n - {k})"),
    "sum_pair": ("a + b + {k}", "a - b + {k}"),
    "parity": ("n % 2 == 0", "n % 2 == 1"),
    "threshold": ("if n > {k}", "if n >= {k}"),
    "sign": ("if n < 0", "if n <= 0"),
    "clamp": ("    print({hi})", "    print(n)"),
    "grade": ("return \"D\"", "return \"C\""),
    "count_letters": ("count = 0", "count = 1"),
    "repeat_join": ("range({k})", "range({k} - 1)"),
    "sum_range": ("range(1, n + 1)", "range(1, n)"),
    "count_div": ("count = 0", "count = 1"),
    "fizz": ("range(1, n + 1)", "range(1, n)"),
    "countdown": ("while n > 0", "while n >= 0"),
    "sum_above": ("if x > {k}", "if x < {k}"),
    "max_plus": ("if x > best", "if x < best"),
    "reverse_suffix": ("s[::-1] + ", "s + "),
    "linear": ("a * {k1} + b", "a * {k1} - b"),
    "is_div": ("return True\n    return False", "return False\n    return True"),
    "count_char": ("count += 1", "count += 2"),
    "dist": ("if a > b", "if a < b"),
    "keep_above": ("if x > {k}", "if x < {k}"),
    "label": ("elif n < {k2}", "elif n > {k2}"),
    "digit_sum": ("while n > 0", "while n > 9"),
    "find": ("return i\n", "return i + 1\n"),
    "spread": ("print(low, mid, high)", "print(low, high, mid)"),
    "safe_div": ("+ {m}", "- {m}"),
    "price": ("if age < {a}", "if age > {a}"),
    "tag": ("if x % {k1} == 0", "if x % {k1} != 0"),
}
