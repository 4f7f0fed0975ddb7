"""One time budget: every limit derives from timeout_s, each deadline inside the next, and a
program that blocks or loops is a TIMEOUT verdict, never a SandboxError."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from stepcoder.problems.types import Problem, Test
from stepcoder.sandbox import ExecResult, Sandbox, SandboxConfig, Verdict
from stepcoder.sandbox.budget import TimeBudget
from stepcoder.sandbox.judge import build_result
from stepcoder.sandbox.messages import ProgramReply, TestObservation

THREE = Problem(id="three", prompt="", solution=None,
                tests=[Test("stdio", stdin=f"{k}\n", stdout=f"{k}\n") for k in range(3)])


@pytest.mark.parametrize("timeout_s, retry", [(0.3, True), (4.0, True), (4.0, False), (30.0, True)])
def test_each_deadline_is_inside_the_next(timeout_s: float, retry: bool) -> None:
    b = TimeBudget(timeout_s, 3.0, retry)
    for n in (1, 3, 50):
        worst_tests = n * (2 if retry else 1) * b.test_wall_s  # every test and its retry at the wall
        assert worst_tests < b.program_s(n) < b.worker_deadline_s(n) < b.pool_deadline_s(n)
    assert b.cpu_s < b.cpu_backstop_s < b.test_wall_s + 2 * timeout_s + 2


def test_config_derives_everything_from_timeout() -> None:
    cfg = SandboxConfig(timeout_s=2.0)
    assert cfg.budget == TimeBudget(2.0, cfg.wall_factor, True)
    assert cfg.wall_timeout_s == cfg.budget.test_wall_s == 6.0
    assert SandboxConfig(timeout_s=2.0, coverage=False).budget.retry is False


def _timed(program: str) -> tuple[ExecResult, float, SandboxConfig]:
    cfg = SandboxConfig(workers=1, timeout_s=0.3, coverage=True)
    with Sandbox(cfg) as sb:
        start = time.monotonic()
        result = sb.run(THREE, program)
        return result, time.monotonic() - start, cfg


def test_three_blocking_tests_are_timeout_within_the_budget() -> None:
    """Once: SandboxError after 138 s (the pool's deadline was shorter than the retries)."""
    result, elapsed, cfg = _timed("import time\ntime.sleep(3600)\n")
    assert result.verdict is Verdict.TIMEOUT and len(result.tests) == 3
    assert all(t.error_type == "TimeLimitExceeded" for t in result.tests)
    assert elapsed < cfg.budget.program_s(3)
    assert elapsed < 3 * cfg.wall_timeout_s + 3  # a blocked test is not run again without coverage


def test_three_looping_tests_with_coverage_retry_fit_the_budget() -> None:
    result, elapsed, cfg = _timed("while True:\n    pass\n")
    assert result.verdict is Verdict.TIMEOUT and elapsed < cfg.budget.program_s(3)
    assert result.executed_lines == frozenset({1, 2})  # from the marked run


def test_a_spent_budget_is_timeout() -> None:
    reply = ProgramReply(tests=(TestObservation("parent", exit_code=0, report=""),
                                TestObservation("parent", budget_exhausted=True)))
    problem = Problem(id="p", prompt="", solution=None, tests=[Test("stdio", stdin="", stdout="")] * 2)
    result = build_result(problem, "print()\n", reply, SandboxConfig(), {})
    assert result.verdict is Verdict.TIMEOUT and result.tests[1].error_type == "ProgramTimeBudget"


def test_a_stopped_worker_is_timeout_and_the_batch_goes_on() -> None:
    """Past the pool's deadline (only a program of the worker's own uid can stop it), the
    program is TIMEOUT, the worker is replaced and the next program runs."""
    cfg = SandboxConfig(workers=1, timeout_s=0.2, wall_factor=2.0, coverage=False)
    with Sandbox(cfg) as sb:
        victim = sb.worker_pids[0]
        stopper = threading.Timer(0.2, os.kill, (victim, signal.SIGSTOP))
        stopper.start()
        one = Problem(id="one", prompt="", solution=None, tests=[Test("stdio", stdin="1\n", stdout="1\n")])
        results = sb.run_batch([(one, "import time\ntime.sleep(5)\n"), (one, "print(input())\n")])
        stopper.join()
        assert [r.verdict for r in results] == [Verdict.TIMEOUT, Verdict.PASS]
        assert results[0].error_type == "ProgramTimeBudget" and sb.worker_pids[0] != victim
