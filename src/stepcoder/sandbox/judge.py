"""From raw observations of the test processes to verdicts, in the parent process.

The expected outputs never leave this process: the test processes only report what the
program printed or returned (as plain data), so a program cannot read the answer it must
produce, and an object with a lying ``__eq__`` never reaches a comparison.
"""

from __future__ import annotations

import json
import signal
from typing import Any

from stepcoder.problems.types import Problem, Test
from stepcoder.sandbox.compare import stdout_matches, values_match
from stepcoder.sandbox.config import SandboxConfig
from stepcoder.sandbox.plain import from_tagged
from stepcoder.sandbox.result import ExecResult, TestResult, Verdict

_CPU_SIGNALS = {signal.SIGXCPU, signal.SIGPROF}


def _report(raw: dict[str, Any]) -> dict[str, Any] | None:
    try:
        report = json.loads(raw["report"]) if raw["report"] else None
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def judge_test(raw: dict[str, Any], test: Test, cfg: SandboxConfig) -> TestResult:
    """Verdict of one test from its raw observation (see supervisor._observation)."""
    result = _judge(raw, _report(raw), test, cfg)
    result.cpu_time_s = round(raw["cpu_s"], 4)
    return result


def _judge(raw: dict[str, Any], report: dict[str, Any] | None, test: Test, cfg: SandboxConfig) -> TestResult:
    if raw["stdout_overflow"]:
        return TestResult(Verdict.RUNTIME_ERROR, "OutputLimitExceeded", f"more than {cfg.max_output_bytes} bytes on stdout")
    status = report.get("status") if report else None
    if raw["wall_timeout"]:
        return TestResult(Verdict.TIMEOUT, "TimeLimitExceeded", f"more than {cfg.wall_timeout_s:g} s of wall-clock time")
    if status == "timeout" or (report is None and (raw["signal"] in _CPU_SIGNALS or raw["cpu_s"] >= cfg.timeout_s)):
        return TestResult(Verdict.TIMEOUT, "TimeLimitExceeded", f"more than {cfg.timeout_s:g} s of CPU time")
    if report is None:
        return _judge_without_report(raw, test, cfg)
    if status == "error":
        return _judge_error(report, test)
    if status == "exit":
        if test.kind == "stdio" and report.get("code") in (0, None):
            return _judge_stdout(raw, test, cfg)
        return TestResult(Verdict.RUNTIME_ERROR, "SystemExit", f"exit code {report.get('code')} before the test finished")
    if status == "bad_value":
        return TestResult(Verdict.WRONG_ANSWER, "UnsupportedReturnType", report.get("message"))
    if status != "ok":
        return TestResult(Verdict.RUNTIME_ERROR, "BadReport", "the test process sent a malformed report")
    if test.kind == "stdio":
        return _judge_stdout(raw, test, cfg)
    if test.kind == "call":
        return _judge_value(report, test, cfg)
    return TestResult(Verdict.PASS)


def _judge_without_report(raw: dict[str, Any], test: Test, cfg: SandboxConfig) -> TestResult:
    if "MemoryError" in raw["stderr_tail"]:
        return TestResult(Verdict.MEMORY_LIMIT, "MemoryError", "out of memory")
    if raw["signal"] is not None:
        name = _signal_name(raw["signal"])
        hint = " (stack overflow: recursion too deep?)" if raw["signal"] == signal.SIGSEGV else ""
        return TestResult(Verdict.RUNTIME_ERROR, name, f"killed by {name}{hint}")
    # os._exit(): a stdio program may legitimately end so; any other test did not finish
    if test.kind == "stdio" and raw["exit_code"] == 0:
        return _judge_stdout(raw, test, cfg)
    return TestResult(Verdict.RUNTIME_ERROR, "ExitBeforeTestFinished", f"process exited with code {raw['exit_code']} before the test finished")


def _judge_error(report: dict[str, Any], test: Test) -> TestResult:
    etype, message, line = report.get("error_type"), report.get("message"), report.get("line")
    if etype == "MemoryError":
        return TestResult(Verdict.MEMORY_LIMIT, etype, message, line)
    # a failing assert of the test itself is a wrong answer; any other exception is the program's error
    if etype == "UntrustedEquality" or (test.kind == "assert" and etype == "AssertionError" and report.get("in_test")):
        return TestResult(Verdict.WRONG_ANSWER, etype, message, line)
    return TestResult(Verdict.RUNTIME_ERROR, etype, message, line)


def _judge_stdout(raw: dict[str, Any], test: Test, cfg: SandboxConfig) -> TestResult:
    if stdout_matches(raw["stdout"], test.stdout or "", cfg.float_rel_tol, cfg.float_abs_tol):
        return TestResult(Verdict.PASS)
    return TestResult(Verdict.WRONG_ANSWER, "WrongOutput", f"got {raw['stdout'][:200]!r}, expected {(test.stdout or '')[:200]!r}")


def _judge_value(report: dict[str, Any], test: Test, cfg: SandboxConfig) -> TestResult:
    try:
        got = from_tagged(report.get("value"))
    except (ValueError, TypeError, KeyError):
        return TestResult(Verdict.RUNTIME_ERROR, "BadReport", "the test process sent a malformed value")
    if values_match(got, test.expected, cfg.float_rel_tol, cfg.float_abs_tol):
        return TestResult(Verdict.PASS)
    return TestResult(Verdict.WRONG_ANSWER, "WrongValue", f"got {_short(got)}, expected {_short(test.expected)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def build_result(problem: Problem, reply: dict[str, Any], cfg: SandboxConfig, iso: dict[str, Any]) -> ExecResult:
    """The ExecResult of one program from the worker's reply."""
    if "compile_error" in reply:
        err = reply["compile_error"]
        return ExecResult(Verdict.COMPILE_ERROR, [], frozenset() if cfg.coverage else None,
                          err.get("error_type"), err.get("message"), err.get("line"), dict(iso))
    if "supervisor_killed" in reply:
        return ExecResult(Verdict.RUNTIME_ERROR, [], frozenset() if cfg.coverage else None, "SupervisorKilled",
                          f"the program killed its supervisor ({reply['supervisor_killed']})", None, dict(iso))
    raws = reply["tests"]
    tests = [judge_test(raw, test, cfg) for raw, test in zip(raws, problem.tests)]
    lines: set[int] = set()
    for raw in raws:
        for key in ("report", "traced_report"):
            report = _report({"report": raw.get(key, "")}) or {}
            lines.update(x for x in report.get("lines", ()) if isinstance(x, int))
    worst = max(tests, key=lambda t: t.verdict.severity, default=TestResult(Verdict.PASS))
    if len(tests) < len(problem.tests) and worst.verdict is Verdict.PASS:  # cannot happen: fail_fast stops only on failures
        raise ValueError("tests missing from a passing program")
    return ExecResult(worst.verdict, tests, frozenset(lines) if cfg.coverage else None,
                      worst.error_type, worst.error_message, worst.error_line, dict(iso))
