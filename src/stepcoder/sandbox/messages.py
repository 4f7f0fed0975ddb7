"""Every message that crosses a process boundary of the sandbox, and its one decoder.

Messages are frozen dataclasses, sent as versioned JSON (``{"v": 1, "type": ..., ...}``).
What comes back from a worker, a judge or a test process is untrusted input: the candidate
may have written it, or made its writer misbehave. :func:`decode` parses it into one
dataclass or raises :class:`MessageError` (a ``ValueError``, never anything else: not a
``RecursionError`` for deep nesting, not a ``TypeError`` for a ``null`` where a list belongs),
and each caller turns that error into a verdict of the one program concerned.

>>> report = ChildReport(status="ok", value=[1, "a"], lines=(1, 2))
>>> decode(encode(report), ChildReport) == report
True
>>> decode(b'{"v": 1, "type": "ChildReport", "status": "ok", "lines": null}', ChildReport)
Traceback (most recent call last):
...
stepcoder.sandbox.messages.MessageError: ChildReport.lines: expected a list, got null
"""

from __future__ import annotations

import dataclasses
import json
import types
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

VERSION = 1
MAX_MESSAGE_BYTES = 64 << 20
MAX_LINES = 100_000
PlainTagged = Any  # plain data in the tagged JSON form of stepcoder.sandbox.plain (checked there)


class MessageError(ValueError):
    """A message that is not exactly what its type says it must be."""


# --- pool -> worker ---------------------------------------------------------------------

JudgedBy = Literal["parent", "judge", "candidate"]


@dataclass(frozen=True)
class TestInput:
    """One test as the worker gets it: inputs only. ``judged_by`` says where it is decided:
    ``parent`` (stdio and call tests: the pool compares what the program printed/returned),
    ``judge`` (an assert test run by a trusted judge process that calls the program's
    functions through plain-data stubs), ``candidate`` (an assert test that cannot be split
    so: it runs in the candidate's process, its report on a channel the candidate cannot reach)."""

    __test__ = False
    kind: Literal["stdio", "call", "assert"]
    judged_by: JudgedBy
    stdin: str = ""
    args: PlainTagged = None  # call tests: the argument list, tagged
    code: str = ""  # assert tests (never sent to the candidate when judged_by == "judge")
    stubs: tuple[str, ...] = ()  # judge: names the test calls that the program defines
    imports: tuple[str, ...] = ()  # judge: `import ...` statements of the program the test relies on


@dataclass(frozen=True)
class RunRequest:
    """One program and its problem's tests, without any expected output."""

    program: str
    tests: tuple[TestInput, ...]
    fn_name: str | None = None
    stdio_entry: str | None = None
    test_setup: str | None = None
    trusted_context: str | None = None  # the problem's own code the judge may use (HumanEval's prompt)
    prelude: str | None = None  # name of the data format's prelude (APPS only)
    wrap_stdio: bool = False  # APPS: a stdin program may need its harness's function wrapper


@dataclass(frozen=True)
class CandidateJob:
    """Worker -> one test process: what it must run, and nothing more (no other test, no
    expected value; an assert test's code only when it is judged in the candidate)."""

    program: str
    kind: Literal["stdio", "call", "assert", "serve", "compile_check"]
    coverage: bool
    timeout_s: float
    args: PlainTagged = None
    code: str = ""
    test_setup: str | None = None
    fn_name: str | None = None
    stdio_entry: str | None = None
    prelude: str | None = None
    wrap_stdio: bool = False


@dataclass(frozen=True)
class JudgeJob:
    """Worker -> judge process: one assert test and the problem's trusted code."""

    test: TestInput
    context: str | None = None
    setup: str | None = None


# --- test process (candidate) -> parent: untrusted -------------------------------------

ChildStatus = Literal["ok", "exit", "error", "timeout", "bad_value", "compile_error"]


@dataclass(frozen=True)
class ChildReport:
    """What one test process reports about itself. Written by the candidate's process, so
    anything in it may be a lie except its form; the parent only uses it where a lie cannot
    help (an error message, a returned value it compares itself, lines it validates)."""

    status: ChildStatus
    value: PlainTagged = None
    error_type: str | None = None
    message: str | None = None
    line: int | None = None
    in_test: bool = False
    exit_code: int | None = None
    lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class CallRequest:
    """Judge -> candidate: call the program's function ``name`` with plain-data arguments."""

    name: str
    args: PlainTagged
    kwargs: PlainTagged


@dataclass(frozen=True)
class CallReply:
    """Candidate -> judge: the call's result as plain data, or why there is none."""

    status: Literal["ok", "error", "bad_value"]
    value: PlainTagged = None
    error_type: str | None = None
    message: str | None = None
    line: int | None = None


JudgeStatus = Literal["pass", "fail", "test_error", "candidate_error", "candidate_gone", "unjudgeable", "bad_reply"]


@dataclass(frozen=True)
class JudgeReport:
    """The judge process's decision on one assert test."""

    status: JudgeStatus
    error_type: str | None = None
    message: str | None = None
    line: int | None = None
    calls: int = 0


@dataclass(frozen=True)
class TestObservation:
    """What the worker saw of one test process: exit, time, output, and the raw reports
    (decoded in the parent)."""

    __test__ = False
    judged_by: JudgedBy
    exit_code: int | None = None
    signal: int | None = None
    wall_timeout: bool = False
    budget_exhausted: bool = False  # never started: the program's time budget was spent
    cpu_s: float = 0.0
    stdout: str = ""
    stdout_overflow: bool = False
    stderr_tail: str = ""
    report: str = ""  # the ChildReport text as the test process wrote it
    traced_report: str = ""  # the coverage run's report when a timed-out test was run again
    judge: str = ""  # the JudgeReport text


@dataclass(frozen=True)
class ProgramReply:
    """Worker -> pool: the observations of one program's tests. ``infra_error`` is our own
    failure (a broken test in the data: the pool raises), ``killed`` a worker process the
    program could reach and stopped (its verdict), ``restart`` asks for a fresh worker."""

    tests: tuple[TestObservation, ...] = ()
    compile_error: str = ""  # the ChildReport text of a compile error
    infra_error: str = ""
    killed: str = ""
    restart: bool = False


@dataclass(frozen=True)
class WorkerHello:
    isolation: dict[str, Any] = field(default_factory=dict)
    pid: int = 0


MESSAGES = {cls.__name__: cls for cls in (TestInput, RunRequest, CandidateJob, JudgeJob, ChildReport, CallRequest, CallReply,
                                           JudgeReport, TestObservation, ProgramReply, WorkerHello)}


# --- encoding ---------------------------------------------------------------------------

def to_obj(msg: Any) -> dict[str, Any]:
    obj = {"v": VERSION, "type": type(msg).__name__}
    for f in dataclasses.fields(msg):
        value = getattr(msg, f.name)
        if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            value = [to_obj(v) for v in value]
        elif dataclasses.is_dataclass(value):
            value = to_obj(value)
        obj[f.name] = value
    return obj


def encode(msg: Any) -> bytes:
    return json.dumps(to_obj(msg), separators=(",", ":")).encode()


# --- decoding ---------------------------------------------------------------------------

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check(value: Any, hint: Any, where: str) -> Any:
    """``value`` as type ``hint`` (exact JSON types: a bool is not an int), or MessageError."""
    if hint is Any:
        return value
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        for option in get_args(hint):
            try:
                return _check(value, option, where)
            except MessageError:
                continue
        raise MessageError(f"{where}: unexpected {_name(value)}")
    if origin is Literal:
        if type(value) is str and value in get_args(hint):
            return value
        raise MessageError(f"{where}: {str(value)[:40]!r} is not one of {get_args(hint)}")
    if origin is tuple:
        if type(value) is not list:
            raise MessageError(f"{where}: expected a list, got {_name(value)}")
        item = get_args(hint)[0]
        return tuple(_check(v, item, f"{where}[]") for v in value)
    if origin is dict:
        if type(value) is not dict:
            raise MessageError(f"{where}: expected an object, got {_name(value)}")
        return value
    if hint is type(None):
        if value is None:
            return None
        raise MessageError(f"{where}: expected null, got {_name(value)}")
    if hint is float:
        if type(value) in (int, float):
            return float(value)
        raise MessageError(f"{where}: expected a number, got {_name(value)}")
    if hint in (str, int, bool):
        if type(value) is hint:
            return value
        raise MessageError(f"{where}: expected {hint.__name__}, got {_name(value)}")
    if dataclasses.is_dataclass(hint):
        return from_obj(value, hint)
    raise MessageError(f"{where}: no rule for {hint!r}")  # pragma: no cover


def from_obj(obj: Any, cls: type) -> Any:
    """The message ``cls`` from parsed JSON; unknown or missing required fields are errors."""
    if type(obj) is not dict:
        raise MessageError(f"{cls.__name__}: expected an object, got {_name(obj)}")
    if obj.get("v") != VERSION or type(obj.get("v")) is not int:
        raise MessageError(f"{cls.__name__}: version {str(obj.get('v'))[:20]!r}, expected {VERSION}")
    if obj.get("type") != cls.__name__:
        raise MessageError(f"expected a {cls.__name__}, got {str(obj.get('type'))[:40]!r}")
    hints = _hints(cls)
    unknown = set(obj) - set(hints) - {"v", "type"}
    if unknown:
        raise MessageError(f"{cls.__name__}: unknown fields {sorted(unknown)[:5]}")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in obj:
            values[f.name] = _check(obj[f.name], hints[f.name], f"{cls.__name__}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise MessageError(f"{cls.__name__}: missing field {f.name!r}")
    msg = cls(**values)
    _validate(msg)
    return msg


def _validate(msg: Any) -> None:
    """Rules beyond types."""
    if isinstance(msg, ChildReport):
        if len(msg.lines) > MAX_LINES or any(n <= 0 for n in msg.lines):
            raise MessageError("ChildReport.lines: not a list of line numbers")
    if isinstance(msg, (TestObservation,)) and msg.cpu_s < 0:
        raise MessageError("TestObservation.cpu_s: negative")


def decode(data: bytes | str, cls: type) -> Any:
    """Parse and validate one message of type ``cls``; any flaw is a :class:`MessageError`."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise MessageError(f"{cls.__name__}: {len(data)} bytes, more than {MAX_MESSAGE_BYTES}")
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError, MemoryError, TypeError) as exc:  # ValueError: also int digit limits
        raise MessageError(f"{cls.__name__}: not JSON ({type(exc).__name__})") from None
    try:
        return from_obj(obj, cls)
    except MessageError:
        raise
    except (RecursionError, TypeError, ValueError, OverflowError) as exc:
        raise MessageError(f"{cls.__name__}: {type(exc).__name__}") from None


for _cls in MESSAGES.values():  # resolved once here, not in every forked test process
    _hints(_cls)
