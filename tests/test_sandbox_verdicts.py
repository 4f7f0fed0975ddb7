"""Verdicts, errors, lines and limits on small hand-made problems."""

from __future__ import annotations

import pytest

from stepcoder.problems.types import Problem, Test
from stepcoder.sandbox import Sandbox, SandboxConfig, Verdict, run_batch

DOUBLE = Problem(id="double", prompt="", solution=None,
                 tests=[Test("stdio", stdin="2\n", stdout="4\n"), Test("stdio", stdin="5\n", stdout="10\n")])
ENTRY = Problem(id="entry", prompt="", solution=None, stdio_entry="Main",
                tests=[Test("stdio", stdin="3\n", stdout="6\n")])
CALL = Problem(id="call", prompt="", solution=None, fn_name="f",
               tests=[Test("call", args=(2,), expected=4), Test("call", args=(3,), expected=6)])
LEET = Problem(id="leet", prompt="", solution=None, fn_name="twice", source_format="apps-plus",
               tests=[Test("call", args=([1, 2],), expected=[2, 4])])
ASSERT = Problem(id="assert", prompt="", solution=None, test_setup="K = 2",
                 tests=[Test("assert", code="assert f(2) == 2 * K"), Test("assert", code="assert f(0) == 0")])


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(SandboxConfig(workers=2, timeout_s=1.0, wall_factor=3.0)) as sb:
        yield sb


@pytest.mark.parametrize("problem, program, verdict", [
    (DOUBLE, "n = int(input())\nprint(n * 2)\n", Verdict.PASS),
    (DOUBLE, "import sys\nn = int(sys.stdin.read())\nsys.stdout.write(str(2 * n) + '   \\n\\n')\n", Verdict.PASS),
    (DOUBLE, "print(4)\n", Verdict.WRONG_ANSWER),
    (DOUBLE, "n = int(input())\nprint(n * 2)\nexit()\n", Verdict.PASS),  # exit() after the answer is fine
    (DOUBLE, "n = int(input())\nprint(n * 2)\nraise SystemExit(3)\n", Verdict.RUNTIME_ERROR),
    (ENTRY, "def Main():\n    print(2 * int(input()))\n", Verdict.PASS),
    (CALL, "def f(x):\n    return 2 * x\n", Verdict.PASS),
    (CALL, "def f(x):\n    return 2.0000000001 * x\n", Verdict.PASS),
    (CALL, "def f(x):\n    return str(2 * x)\n", Verdict.WRONG_ANSWER),
    (CALL, "def g(x):\n    return 2 * x\n", Verdict.RUNTIME_ERROR),  # NameError: no f
    (LEET, "class Solution:\n    def twice(self, a: List[int]) -> List[int]:\n        return tuple(2 * x for x in a)\n", Verdict.PASS),
    (ASSERT, "def f(x):\n    return 2 * x\n", Verdict.PASS),
    (ASSERT, "def f(x):\n    return x\n", Verdict.WRONG_ANSWER),
    (ASSERT, "def f(x):\n    return x / 0\n", Verdict.RUNTIME_ERROR),
    (ASSERT, "def f(x)\n    return x\n", Verdict.COMPILE_ERROR),
])
def test_verdict(sandbox, problem, program, verdict) -> None:
    result = sandbox.run(problem, program)
    assert result.verdict is verdict, result


def test_compile_error_runs_nothing(sandbox) -> None:
    result = sandbox.run(DOUBLE, "x = 1\nprint(x\n")
    assert result.verdict is Verdict.COMPILE_ERROR and result.tests == []
    assert result.error_type == "SyntaxError" and result.executed_lines == frozenset()


def test_error_line_is_in_the_program(sandbox) -> None:
    program = "def f(x):\n    y = x + 1\n    return [][y]\n"
    result = sandbox.run(CALL, program)
    assert result.verdict is Verdict.RUNTIME_ERROR
    assert (result.error_type, result.error_line) == ("IndexError", 3)


def test_per_test_verdicts_and_worst_overall(sandbox) -> None:
    program = "n = int(input())\nprint(4 if n == 2 else -1)\n"
    result = sandbox.run(DOUBLE, program)
    assert [t.verdict for t in result.tests] == [Verdict.PASS, Verdict.WRONG_ANSWER]
    assert result.verdict is Verdict.WRONG_ANSWER


def test_executed_lines_union_over_tests_and_threads(sandbox) -> None:
    program = (
        "import threading\n"          # 1
        "def work():\n"               # 2
        "    n = int(input())\n"      # 3
        "    if n == 2:\n"            # 4
        "        print(4)\n"          # 5
        "    else:\n"                 # 6
        "        print(10)\n"         # 7
        "t = threading.Thread(target=work)\n"  # 8
        "t.start()\n"                 # 9
        "t.join()\n"                  # 10
    )
    result = sandbox.run(DOUBLE, program)
    assert result.verdict is Verdict.PASS
    # line 6 (`else:`) is not a statement and never reported, as in coverage.py
    assert result.executed_lines == frozenset({1, 2, 3, 4, 5, 7, 8, 9, 10})


def test_unreached_branch_not_executed(sandbox) -> None:
    result = sandbox.run(CALL, "def f(x):\n    if x < 0:\n        return -1\n    return 2 * x\n")
    assert result.passed and result.executed_lines == frozenset({1, 2, 4})


def test_batch_keeps_input_order(sandbox) -> None:
    items = [(CALL, f"def f(x):\n    return {k} * x\n") for k in range(8)]
    verdicts = [r.verdict for r in sandbox.run_batch(items)]
    assert verdicts == [Verdict.WRONG_ANSWER] * 2 + [Verdict.PASS] + [Verdict.WRONG_ANSWER] * 5


def test_numpy_and_scipy_available(sandbox) -> None:
    program = "import numpy as np\nfrom scipy.special import comb\ndef f(x):\n    return int(np.int64(comb(4, 1)) * x // 2)\n"
    assert sandbox.run(CALL, program).passed


def test_coverage_off_gives_none() -> None:
    result = run_batch([(CALL, "def f(x):\n    return 2 * x\n")], SandboxConfig(workers=1, coverage=False))[0]
    assert result.passed and result.executed_lines is None


def test_isolation_reported(sandbox) -> None:
    iso = sandbox.run(CALL, "def f(x):\n    return 2 * x\n").isolation
    assert iso["clean_env"] and iso["workdir"] and "CPU" in iso["rlimits"]
    if iso["root"] and iso["mode"] == "auto":
        assert iso["pid_namespace"] and iso["network_namespace"] and iso["uid_drop"]


def test_no_isolation_mode_still_judges() -> None:
    with Sandbox(SandboxConfig(workers=1, isolation="none", timeout_s=0.5, coverage=False)) as sb:
        result = sb.run_batch([(DOUBLE, "print(2 * int(input()))\n"), (DOUBLE, "while True: pass\n")])
        assert [r.verdict for r in result] == [Verdict.PASS, Verdict.TIMEOUT]
        assert not result[0].isolation["pid_namespace"] and not result[0].isolation["uid_drop"]


NO_TESTS = Problem(id="no-tests", prompt="", solution=None, tests=[])


@pytest.mark.parametrize("program, verdict", [
    ("def f(x)\n    return x\n", Verdict.COMPILE_ERROR),
    ("print(1\n", Verdict.COMPILE_ERROR),
    ("def f(x):\n    return x\n", Verdict.PASS),
    ("raise SystemExit(3)\n", Verdict.PASS),  # nothing runs without a test: only compiling is checked
])
def test_problem_without_tests_is_only_compiled(sandbox, program, verdict) -> None:
    result = sandbox.run(NO_TESTS, program)
    assert result.verdict is verdict and result.tests == []
    if verdict is Verdict.PASS:
        assert (result.error_type, result.error_message, result.error_line) == (None, None, None)
    else:
        assert result.error_type == "SyntaxError" and result.error_line == 1


def test_problem_without_tests_without_namespaces() -> None:
    # the per-program supervisor path (no PID namespace) compiles too
    with Sandbox(SandboxConfig(workers=1, isolation="none", coverage=False)) as sb:
        bad, good = sb.run_batch([(NO_TESTS, "x = = 1\n"), (NO_TESTS, "x = 1\n")])
        assert (bad.verdict, good.verdict) == (Verdict.COMPILE_ERROR, Verdict.PASS)
        assert bad.error_line == 1 and good.error_message is None
