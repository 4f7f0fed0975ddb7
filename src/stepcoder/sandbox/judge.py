"""From a worker's reply to verdicts, in the parent process.

Everything in the reply is decoded by :mod:`stepcoder.sandbox.messages` first; whatever
does not decode is the one program's RUNTIME_ERROR (``BadReport``), never an exception that
stops a batch. Expected outputs never leave this process: stdio and call tests are compared
here; assert tests were decided by the judge process (or, when their form does not allow it,
in the candidate's process, reported on its own descriptor).
"""

from __future__ import annotations

import signal
from typing import Any

from stepcoder.problems.types import Problem, Test
from stepcoder.sandbox.compare import stdout_matches, values_match
from stepcoder.sandbox.config import SandboxConfig
from stepcoder.sandbox.messages import ChildReport, JudgeReport, MessageError, ProgramReply, TestObservation, decode
from stepcoder.sandbox.plain import BadTaggedData, from_tagged
from stepcoder.sandbox.result import ExecResult, TestResult, Verdict
from stepcoder.sandbox.tracer import statement_lines

_CPU_SIGNALS = {signal.SIGXCPU, signal.SIGPROF}
_BAD = object()  # a report that is there but does not decode


def _child_report(text: str) -> ChildReport | None | object:
    if not text:
        return None
    try:
        return decode(text, ChildReport)
    except MessageError:
        return _BAD


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def judge_test(obs: TestObservation, test: Test, cfg: SandboxConfig) -> TestResult:
    """Verdict of one test from its observation."""
    result = _judge(obs, test, cfg)
    result.cpu_time_s = round(obs.cpu_s, 4)
    result.judged_by = obs.judged_by
    return result


def _judge(obs: TestObservation, test: Test, cfg: SandboxConfig) -> TestResult:
    if obs.budget_exhausted:
        return TestResult(Verdict.TIMEOUT, "ProgramTimeBudget", f"the program's time budget ({cfg.budget.program_s(1):g} s per test) was spent before this test")
    if obs.stdout_overflow:
        return TestResult(Verdict.RUNTIME_ERROR, "OutputLimitExceeded", f"more than {cfg.max_output_bytes} bytes on stdout")
    if obs.judged_by == "judge":
        decided = _judge_report(obs)
        if decided is not None:
            return decided
    report = _child_report(obs.report)
    status = report.status if isinstance(report, ChildReport) else None
    if obs.wall_timeout:
        return TestResult(Verdict.TIMEOUT, "TimeLimitExceeded", f"more than {cfg.wall_timeout_s:g} s of wall-clock time")
    if status == "timeout" or (not isinstance(report, ChildReport) and (obs.signal in _CPU_SIGNALS or obs.cpu_s >= cfg.timeout_s)):
        return TestResult(Verdict.TIMEOUT, "TimeLimitExceeded", f"more than {cfg.timeout_s:g} s of CPU time")
    if report is _BAD:
        return TestResult(Verdict.RUNTIME_ERROR, "BadReport", "the test process sent a malformed report")
    if report is None:
        return _judge_without_report(obs, test, cfg)
    assert isinstance(report, ChildReport)
    if status == "error":
        return _judge_error(report, test)
    if status == "exit":
        if test.kind == "stdio" and report.exit_code in (0, None):
            return _judge_stdout(obs, test, cfg)
        return TestResult(Verdict.RUNTIME_ERROR, "SystemExit", f"exit code {report.exit_code} before the test finished")
    if status == "bad_value":
        return TestResult(Verdict.WRONG_ANSWER, "UnsupportedReturnType", report.message)
    if status != "ok":
        return TestResult(Verdict.RUNTIME_ERROR, "BadReport", "the test process sent a malformed report")
    if obs.judged_by == "judge":  # the candidate ended well, but its judge did not report
        return TestResult(Verdict.RUNTIME_ERROR, "JudgeFailed", "the judge process ended without a decision")
    if test.kind == "stdio":
        return _judge_stdout(obs, test, cfg)
    if test.kind == "call":
        return _judge_value(report, test, cfg)
    return TestResult(Verdict.PASS)


def _judge_report(obs: TestObservation) -> TestResult | None:
    """The judge process's decision, or None when the candidate's own end decides (it
    stopped answering: time, crash, exit)."""
    try:
        report = decode(obs.judge, JudgeReport) if obs.judge else None
    except MessageError:
        report = None
    if report is None or report.status == "candidate_gone":
        return None
    if report.status == "pass":
        return TestResult(Verdict.PASS)
    if report.status == "fail":
        return TestResult(Verdict.WRONG_ANSWER, report.error_type, report.message, report.line)
    if report.status == "candidate_error":
        if report.error_type == "UnsupportedReturnType":
            return TestResult(Verdict.WRONG_ANSWER, report.error_type, report.message)
        if report.error_type == "MemoryError":
            return TestResult(Verdict.MEMORY_LIMIT, report.error_type, report.message, report.line)
        return TestResult(Verdict.RUNTIME_ERROR, report.error_type, report.message, report.line)
    if report.status == "bad_reply":
        return TestResult(Verdict.RUNTIME_ERROR, "BadReport", report.message)
    return TestResult(Verdict.RUNTIME_ERROR, report.error_type or "TestError", report.message)


def _judge_without_report(obs: TestObservation, test: Test, cfg: SandboxConfig) -> TestResult:
    if "MemoryError" in obs.stderr_tail:
        return TestResult(Verdict.MEMORY_LIMIT, "MemoryError", "out of memory")
    if obs.signal is not None:
        name = _signal_name(obs.signal)
        hint = " (stack overflow: recursion too deep?)" if obs.signal == signal.SIGSEGV else ""
        return TestResult(Verdict.RUNTIME_ERROR, name, f"killed by {name}{hint}")
    # os._exit(): a stdio program may legitimately end so; any other test did not finish
    if test.kind == "stdio" and obs.exit_code == 0:
        return _judge_stdout(obs, test, cfg)
    return TestResult(Verdict.RUNTIME_ERROR, "ExitBeforeTestFinished", f"process exited with code {obs.exit_code} before the test finished")


def _judge_error(report: ChildReport, test: Test) -> TestResult:
    etype, message, line = report.error_type, report.message, report.line
    if etype == "MemoryError":
        return TestResult(Verdict.MEMORY_LIMIT, etype, message, line)
    # a failing assert of the test itself is a wrong answer; any other exception is the program's error
    if etype == "UntrustedEquality" or (test.kind == "assert" and etype == "AssertionError" and report.in_test):
        return TestResult(Verdict.WRONG_ANSWER, etype, message, line)
    return TestResult(Verdict.RUNTIME_ERROR, etype, message, line)


def _judge_stdout(obs: TestObservation, test: Test, cfg: SandboxConfig) -> TestResult:
    if stdout_matches(obs.stdout, test.stdout or "", cfg.float_rel_tol, cfg.float_abs_tol):
        return TestResult(Verdict.PASS)
    return TestResult(Verdict.WRONG_ANSWER, "WrongOutput", f"got {obs.stdout[:200]!r}, expected {(test.stdout or '')[:200]!r}")


def _judge_value(report: ChildReport, test: Test, cfg: SandboxConfig) -> TestResult:
    try:
        got = from_tagged(report.value)
    except BadTaggedData:
        return TestResult(Verdict.RUNTIME_ERROR, "BadReport", "the test process sent a malformed value")
    if values_match(got, test.expected, cfg.float_rel_tol, cfg.float_abs_tol):
        return TestResult(Verdict.PASS)
    return TestResult(Verdict.WRONG_ANSWER, "WrongValue", f"got {_short(got)}, expected {_short(test.expected)}")


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int beyond the digits Python converts to text
        return f"an int of {value.bit_length()} bits"
    return text if len(text) <= 200 else text[:200] + "..."


def executed_lines(reply: ProgramReply, program: str) -> frozenset[int]:
    """Union of the lines the test processes report, kept only where the program has a
    statement: a forged report adds nothing that is not a real line of the program."""
    real = statement_lines(program) or frozenset()
    lines: set[int] = set()
    for obs in reply.tests:
        for text in (obs.report, obs.traced_report):
            report = _child_report(text)
            if isinstance(report, ChildReport):
                lines.update(report.lines)
    return frozenset(lines & real)


def program_error(verdict: Verdict, error_type: str, message: str, cfg: SandboxConfig, iso: dict[str, Any]) -> ExecResult:
    """A verdict for the whole program when no test could be judged (the program stopped a
    worker it could reach, or what came back did not decode)."""
    return ExecResult(verdict, [], frozenset() if cfg.coverage else None, error_type, message, None, dict(iso))


def build_result(problem: Problem, program: str, reply: ProgramReply, cfg: SandboxConfig, iso: dict[str, Any]) -> ExecResult:
    """The ExecResult of one program from the worker's (decoded) reply."""
    if reply.compile_error:
        report = _child_report(reply.compile_error)
        if not isinstance(report, ChildReport) or report.status != "compile_error":
            return program_error(Verdict.RUNTIME_ERROR, "BadReport", "a malformed compile report", cfg, iso)
        return ExecResult(Verdict.COMPILE_ERROR, [], frozenset() if cfg.coverage else None,
                          report.error_type, report.message, report.line, dict(iso))
    if reply.killed:
        return program_error(Verdict.RUNTIME_ERROR, "SandboxProcessKilled",
                             f"the program stopped a sandbox process it could reach ({reply.killed})", cfg, iso)
    if len(reply.tests) > len(problem.tests) or (len(reply.tests) < len(problem.tests) and not cfg.fail_fast):
        return program_error(Verdict.RUNTIME_ERROR, "BadReport", "a reply with the wrong number of tests", cfg, iso)
    tests = [judge_test(obs, test, cfg) for obs, test in zip(reply.tests, problem.tests)]
    worst = max(tests, key=lambda t: t.verdict.severity, default=TestResult(Verdict.PASS))
    if len(tests) < len(problem.tests) and worst.verdict is Verdict.PASS:  # fail_fast stops only on failures
        return program_error(Verdict.RUNTIME_ERROR, "BadReport", "tests missing from a passing program", cfg, iso)
    return ExecResult(worst.verdict, tests, executed_lines(reply, program) if cfg.coverage else None,
                      worst.error_type, worst.error_message, worst.error_line, dict(iso))
