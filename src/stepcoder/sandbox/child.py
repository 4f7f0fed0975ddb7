"""Code that runs in the test process, the only place where candidate code runs.

It executes the program and one test, then writes one JSON report to fd ``REPORT_FD``:
``{"status": "ok"|"exit"|"error"|"timeout"|"bad_value", ...}`` with the return value as
tagged plain data (never the candidate's own objects), the error and its line in the
program, and the executed lines. The parent judges; nothing here knows the expected output.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import json
import os
import signal
import sys
import traceback
from types import CodeType, FunctionType
from typing import Any, NoReturn

from stepcoder.sandbox.plain import NotPlainData, to_tagged
from stepcoder.sandbox.tracer import CANDIDATE_FILENAME, MARKS_NAME, compile_with_line_marks

REPORT_FD = 3
_MAX_MESSAGE = 1000


class LineMarks:
    """Executed lines of a program compiled by ``compile_with_line_marks``: its markers add
    to this set, found in builtins so that every namespace and thread reaches it."""

    def __init__(self) -> None:
        self.lines: set[int] = set()
        setattr(builtins, MARKS_NAME, self.lines)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


_PRELUDE: dict[str, Any] = {"__builtins__": builtins}


def set_prelude(source: str) -> None:
    """Run the prelude once (in the worker); every test's namespace starts as a copy."""
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(source, "<prelude>", "exec", dont_inherit=True), ns)
    _PRELUDE.clear()
    _PRELUDE.update(ns)


class TimeLimitExceeded(BaseException):
    """Raised by the CPU-time signal handler, so that the lines run so far are reported.
    A BaseException, and re-raised every 50 ms, so a bare ``except:`` cannot swallow it."""


def candidate_line(tb: Any) -> int | None:
    """Line of the innermost traceback frame that belongs to the candidate program."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == CANDIDATE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _raised_in_test_code(tb: Any) -> bool:
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last == "<test>"


def _report(payload: dict[str, Any], tracer: LineMarks | None) -> NoReturn:
    if tracer is not None:
        tracer.stop()
        payload["lines"] = sorted(tracer.lines)
    try:
        sys.stdout.flush()
    except Exception:  # the candidate may have closed or replaced stdout
        pass
    data = json.dumps(payload).encode()
    while data:
        data = data[os.write(REPORT_FD, data):]
    os._exit(0)


def open_stdio() -> None:
    """Fresh text streams over fds 0/1/2, made once in the worker (where they are never used)
    and inherited by every test process, whose fds 0/1/2 are by then its stdin/stdout/stderr
    files: the streams' buffers are empty, so they read and write those."""
    sys.stdin = sys.__stdin__ = open(0, "r", encoding="utf-8", errors="replace", closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", encoding="utf-8", closefd=False)


def _call_target(ns: dict[str, Any], fn_name: str) -> Any:
    solution = ns.get("Solution")
    if isinstance(solution, type) and hasattr(solution, fn_name):
        return getattr(solution(), fn_name)
    if fn_name in ns:
        return ns[fn_name]
    raise NameError(f"name {fn_name!r} is not defined")


def _run(code: CodeType, job: dict[str, Any], test: dict[str, Any], ns: dict[str, Any]) -> Any:
    exec(code, ns)
    kind = test["kind"]
    if kind == "stdio":
        if job.get("stdio_entry"):
            ns[job["stdio_entry"]]()
        return None
    if kind == "call":
        return _call_target(ns, job["fn_name"])(*test["args"])
    # the test code sees the program's functions through a guard (the program's own
    # globals, hence its recursion, keep the originals: no extra frames)
    test_ns = {name: _guarded(obj) if _is_candidate_function(obj) else obj for name, obj in ns.items()}
    if job.get("setup_code") is not None:
        exec(job["setup_code"], test_ns)
    exec(test["test_code"], test_ns)
    return None


class UntrustedEquality(Exception):
    """An assert-based test got an object whose class defines its own ``__eq__``/``__ne__`` in
    the program: ``assert f(x) == y`` would ask the program itself whether it is right."""


def _is_candidate_function(obj: Any) -> bool:
    return isinstance(obj, FunctionType) and obj.__code__.co_filename == CANDIDATE_FILENAME


def _defined_by_candidate(method: Any) -> bool:
    code = getattr(method, "__code__", None)
    return code is not None and code.co_filename == CANDIDATE_FILENAME


def _check_equality(value: Any, depth: int = 0) -> None:
    kind = type(value)
    if _defined_by_candidate(getattr(kind, "__eq__", None)) or _defined_by_candidate(getattr(kind, "__ne__", None)):
        raise UntrustedEquality(f"returned a {kind.__name__} whose class defines its own __eq__")
    if depth < 3 and kind in (list, tuple, set, frozenset):
        for item in itertools.islice(value, 1000):
            _check_equality(item, depth + 1)
    elif depth < 3 and kind is dict:
        for item in itertools.islice(value.values(), 1000):
            _check_equality(item, depth + 1)


def _guarded(fn: FunctionType) -> Any:
    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        value = fn(*args, **kwargs)
        _check_equality(value)
        return value

    return guarded


def _disarm() -> None:
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.signal(signal.SIGPROF, signal.SIG_IGN)


def _execute(code: CodeType, job: dict[str, Any], test: dict[str, Any], timeout_s: float,
             tracer: LineMarks | None) -> tuple[Any, BaseException | None]:
    def on_cpu_limit(signum: int, frame: Any) -> None:
        raise TimeLimitExceeded()

    signal.signal(signal.SIGPROF, on_cpu_limit)
    signal.setitimer(signal.ITIMER_PROF, timeout_s, 0.05)
    ns = dict(_PRELUDE, __name__="__main__")
    try:
        if tracer is not None:
            tracer.start()
        return _run(code, job, test, ns), None
    except BaseException as exc:  # the candidate's error: reported, judged by the parent
        return None, exc
    finally:
        _disarm()
        if tracer is not None:
            tracer.stop()
        ns.clear()  # frees what a MemoryError left behind, so the report can be built


def _error_payload(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, TimeLimitExceeded):
        return {"status": "timeout"}
    if isinstance(exc, SystemExit):
        code = exc.code if exc.code is None or isinstance(exc.code, int) else 1
        return {"status": "exit", "code": code}
    tb = exc.__traceback__
    payload = {"status": "error", "error_type": type(exc).__name__, "line": candidate_line(tb),
               "in_test": _raised_in_test_code(tb)}
    exc.__traceback__ = None  # drop the candidate's frames (and their memory) first
    payload["message"] = _message(exc)
    return payload


# Kind of the one pseudo-test run for a problem with no tests: compile the program, run nothing.
COMPILE_CHECK = "compile_check"


def compile_tests(job: dict[str, Any]) -> None:
    """Compile the (trusted) test and setup code once, before forking the test processes."""
    if job.get("test_setup"):
        job["setup_code"] = compile(job["test_setup"], "<setup>", "exec", dont_inherit=True)
    for test in job["tests"]:
        if test["kind"] == "assert":
            test["test_code"] = compile(test["code"], "<test>", "exec", dont_inherit=True)


def compile_program(program: str, coverage: bool) -> CodeType | dict[str, Any]:
    """The code object (with line markers when ``coverage``), or a compile-error report.
    Compiled here, under the test's limits (a pathological program may exhaust the
    compiler); ``dont_inherit`` keeps our own ``__future__`` imports out of the program."""
    try:
        if coverage:
            return compile_with_line_marks(program)
        return compile(program, CANDIDATE_FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, SyntaxError) else None
        return {"status": "compile_error", "error_type": type(exc).__name__, "message": str(exc)[:_MAX_MESSAGE], "line": line}


def run_test(job: dict[str, Any], test: dict[str, Any], coverage: bool, timeout_s: float) -> NoReturn:
    """Compile and run the program and one test in this (already limited) process; never returns."""
    code = compile_program(job["program"], coverage)
    if isinstance(code, dict):
        _report(code, None)
    if test["kind"] == COMPILE_CHECK:  # a problem without tests: compiling is the whole check
        _report({"status": "ok"}, None)
    tracer = LineMarks() if coverage else None
    try:
        value, exc = _execute(code, job, test, timeout_s, tracer)
    except TimeLimitExceeded:  # fired exactly while _execute was returning
        _disarm()
        value, exc = None, TimeLimitExceeded()
    if exc is not None:
        _report(_error_payload(exc), tracer)
    if test["kind"] != "call":
        _report({"status": "ok"}, tracer)
    try:
        tagged = to_tagged(value)
    except NotPlainData as err:
        _report({"status": "bad_value", "message": str(err)}, tracer)
    _report({"status": "ok", "value": tagged}, tracer)


def _message(exc: BaseException) -> str:
    try:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    except Exception:
        text = type(exc).__name__
    return text[:_MAX_MESSAGE]
