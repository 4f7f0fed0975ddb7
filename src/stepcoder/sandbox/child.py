"""Code that runs in the test process, the only place where candidate code runs.

The process reads its :class:`~stepcoder.sandbox.messages.CandidateJob` from fd ``JOB_FD``,
runs the program and its one test, and writes one :class:`ChildReport` to fd ``REPORT_FD``:
the return value as tagged plain data (never the candidate's own objects), the error and its
line in the program, the executed lines. For an assert test judged by the judge process it
instead serves calls on fd ``CALL_FD`` (``CallRequest`` in, ``CallReply`` out) until the judge
closes it. Nothing here knows an expected output.
"""

from __future__ import annotations

import ast
import builtins
import functools
import itertools
import os
import resource
import signal
import sys
import traceback
import warnings
from types import CodeType, FunctionType
from typing import Any, NoReturn

from stepcoder.sandbox import messages, protocol
from stepcoder.sandbox.messages import CallReply, CallRequest, CandidateJob, ChildReport
from stepcoder.sandbox.plain import NotPlainData, from_tagged, to_tagged
from stepcoder.sandbox.tracer import CANDIDATE_FILENAME, MARKS_NAME, compile_with_line_marks, mark_tree

REPORT_FD, JOB_FD, CALL_FD = 3, 4, 5
_MAX_MESSAGE = 1000
_WRAPPER = "__stepcoder_main__"


class LineMarks:
    """Executed lines of a program compiled by ``compile_with_line_marks``: its markers add
    to this set, found in builtins so that every namespace and thread reaches it."""

    def __init__(self) -> None:
        self.lines: set[int] = set()
        setattr(builtins, MARKS_NAME, self.lines)


_PRELUDES: dict[str, dict[str, Any]] = {}


def set_prelude(name: str, source: str) -> None:
    """Run a data format's prelude once (in the worker, before the template forks); the
    namespace of each program of that format starts as a copy."""
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(source, "<prelude>", "exec", dont_inherit=True), ns)
    _PRELUDES[name] = ns


def _namespace(prelude: str | None) -> dict[str, Any]:
    return dict(_PRELUDES.get(prelude or "", {"__builtins__": builtins}), __name__="__main__")


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


def _report(report: ChildReport, tracer: LineMarks | None) -> NoReturn:
    if tracer is not None:
        report = ChildReport(**{**report.__dict__, "lines": tuple(sorted(tracer.lines))})
    try:
        sys.stdout.flush()
    except Exception:  # the candidate may have closed or replaced stdout
        pass
    data = messages.encode(report)
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # output was limited, the report is not
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


def _run(code: CodeType, job: CandidateJob, ns: dict[str, Any]) -> Any:
    exec(code, ns)
    if job.kind == "stdio":
        if job.stdio_entry:
            ns[job.stdio_entry]()
        return None
    if job.kind == "call":
        return _call_target(ns, job.fn_name or "")(*from_tagged(job.args))
    if job.kind == "serve":
        _serve(ns)
        return None
    # an assert test that only the candidate's process can run: it sees the program's
    # functions through a guard (the program's own globals, hence its recursion, keep the
    # originals: no extra frames)
    test_ns = {name: _guarded(obj) if _is_candidate_function(obj) else obj for name, obj in ns.items()}
    if job.test_setup:
        exec(compile(job.test_setup, "<setup>", "exec", dont_inherit=True), test_ns)
    exec(compile(job.code, "<test>", "exec", dont_inherit=True), test_ns)
    return None


def _serve(ns: dict[str, Any]) -> None:
    """Answer the judge's calls until it closes the channel. An exception of a call is
    answered (the judge decides), except the time limit, which ends the process. Objects the
    judge has built of the program's classes stay here; it holds handles to them."""
    kept: list[Any] = []
    resolve = lambda n: kept[n] if 0 <= n < len(kept) else None  # noqa: E731 (the judge's own numbers)
    while True:
        try:
            frame = protocol.recv(CALL_FD)
        except protocol.ChannelClosed:
            return
        request = messages.decode(frame, CallRequest)  # from the trusted judge
        try:
            args = from_tagged(request.args, resolve=resolve)
            if request.kind == "setattr":
                setattr(kept[request.handle], request.attr, args[0])
                value = None
            else:
                value = ns[request.name](*args, **from_tagged(request.kwargs, resolve=resolve))
        except (TimeLimitExceeded, SystemExit):
            raise
        except BaseException as exc:  # the program's error: reported to the judge
            reply = _call_error(exc)
        else:
            try:
                reply = CallReply("ok", to_tagged(value))
            except NotPlainData as err:
                if request.kind == "construct":
                    kept.append(value)
                    reply = CallReply("ok", handle=len(kept) - 1)
                else:
                    reply = CallReply("bad_value", message=str(err))
        protocol.send(CALL_FD, messages.encode(reply))


def _call_error(exc: BaseException) -> CallReply:
    line = candidate_line(exc.__traceback__)
    exc.__traceback__ = None
    return CallReply("error", error_type=type(exc).__name__, message=exception_text(exc), line=line)


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


def _execute(code: CodeType, job: CandidateJob, tracer: LineMarks | None) -> tuple[Any, BaseException | None]:
    def on_cpu_limit(signum: int, frame: Any) -> None:
        raise TimeLimitExceeded()

    signal.signal(signal.SIGPROF, on_cpu_limit)
    signal.setitimer(signal.ITIMER_PROF, job.timeout_s, 0.05)
    ns = _namespace(job.prelude)
    try:
        return _run(code, job, ns), None
    except BaseException as exc:  # the candidate's error: reported, judged by the parent
        return None, exc
    finally:
        _disarm()
        ns.clear()  # frees what a MemoryError left behind, so the report can be built


def _error_report(exc: BaseException) -> ChildReport:
    if isinstance(exc, TimeLimitExceeded):
        return ChildReport("timeout")
    if isinstance(exc, SystemExit):
        code = exc.code if exc.code is None or type(exc.code) is int else 1
        return ChildReport("exit", exit_code=code)
    tb = exc.__traceback__
    etype, line, in_test = type(exc).__name__, candidate_line(tb), _raised_in_test_code(tb)
    exc.__traceback__ = None  # drop the candidate's frames (and their memory) first
    return ChildReport("error", error_type=etype, message=exception_text(exc), line=line, in_test=in_test)


_NEEDS_FUNCTION = ("'return' outside function", "nonlocal declaration not allowed at module level",
                   "no binding for nonlocal")


def _wrap_in_function(tree: ast.Module) -> ast.Module:
    """APPS's harness runs a stdin program inside a function, where a top-level ``return``
    or ``nonlocal`` is legal: the same here, keeping every line number (and ``from
    __future__`` imports first)."""
    futures = [s for s in tree.body if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
    body = [s for s in tree.body if s not in futures] or [ast.Pass(lineno=1, col_offset=0)]
    where = {"lineno": body[0].lineno, "col_offset": 0}
    fn = ast.FunctionDef(_WRAPPER, ast.arguments([], [], None, [], [], None, []), body, [], None, **where)
    call = ast.Expr(ast.Call(ast.Name(_WRAPPER, ast.Load(), **where), [], [], **where), **where)
    return ast.fix_missing_locations(ast.Module(futures + [fn, call], []))


def compile_program(program: str, coverage: bool, wrap: bool = False) -> CodeType | ChildReport:
    """The code object (with line markers when ``coverage``), or a compile-error report.
    Compiled here, under the test's limits (a pathological program may exhaust the
    compiler); ``dont_inherit`` keeps our own ``__future__`` imports out of the program."""
    try:
        try:
            return compile_with_line_marks(program) if coverage else compile(program, CANDIDATE_FILENAME, "exec", dont_inherit=True)
        except SyntaxError as exc:
            if not (wrap and any(exc.msg.startswith(m) for m in _NEEDS_FUNCTION)):
                raise
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(program, CANDIDATE_FILENAME)
            if coverage:
                mark_tree(tree)
            return compile(_wrap_in_function(tree), CANDIDATE_FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, SyntaxError) else None
        return ChildReport("compile_error", error_type=type(exc).__name__, message=str(exc)[:_MAX_MESSAGE], line=line)


def run_test(job: CandidateJob) -> NoReturn:
    """Compile and run the program and one test in this (already limited) process; never returns."""
    code = compile_program(job.program, job.coverage, job.wrap_stdio and job.kind == "stdio")
    if isinstance(code, ChildReport):
        _report(code, None)
    if job.kind == "compile_check":  # a problem without tests: compiling is the whole check
        _report(ChildReport("ok"), None)
    tracer = LineMarks() if job.coverage else None
    try:
        value, exc = _execute(code, job, tracer)
    except TimeLimitExceeded:  # fired exactly while _execute was returning
        _disarm()
        value, exc = None, TimeLimitExceeded()
    if exc is not None:
        _report(_error_report(exc), tracer)
    if job.kind != "call":
        _report(ChildReport("ok"), tracer)
    try:
        tagged = to_tagged(value)
    except NotPlainData as err:
        _report(ChildReport("bad_value", message=str(err)), tracer)
    _report(ChildReport("ok", value=tagged), tracer)


def read_job() -> CandidateJob:
    size = os.fstat(JOB_FD).st_size
    job = messages.decode(os.pread(JOB_FD, size, 0), CandidateJob)
    os.close(JOB_FD)
    return job


def exception_text(exc: BaseException) -> str:
    """``Type: message`` of an exception, cut to a length a report can carry."""
    try:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    except Exception:
        text = type(exc).__name__
    return text[:_MAX_MESSAGE]

