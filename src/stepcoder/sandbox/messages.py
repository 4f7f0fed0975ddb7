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
>>> try:
...     decode(b'{"v": 1, "type": "ChildReport", "status": "ok", "lines": null}', ChildReport)
... except MessageError as err:
...     print(err)
ChildReport.lines: expected a list, got null
"""

from __future__ import annotations

import dataclasses
import json
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, NoReturn, Union, get_args, get_origin, get_type_hints

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
    classes: tuple[str, ...] = ()  # judge: the program's classes the test builds objects of (handles)
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
    """Judge -> candidate: call the program's function ``name`` with plain-data arguments
    (``call``); build an object of the program's class ``name`` and keep it, answering a
    handle (``construct``); set attribute ``attr`` of the object behind ``handle``
    (``setattr``, the value in ``args[0]``). Arguments may hold handles ``{"h": n}``."""

    name: str
    args: PlainTagged
    kwargs: PlainTagged
    kind: Literal["call", "construct", "setattr"] = "call"
    handle: int = 0
    attr: str = ""


@dataclass(frozen=True)
class CallReply:
    """Candidate -> judge: the call's result as plain data, or why there is none."""

    status: Literal["ok", "error", "bad_value"]
    value: PlainTagged = None
    error_type: str | None = None
    message: str | None = None
    line: int | None = None
    handle: int | None = None  # a construct request's object, kept in the candidate's process


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
    for name, nested, _, _ in _schema(type(msg)):
        value = getattr(msg, name)
        if nested == "many":
            value = [to_obj(v) for v in value]
        elif nested == "one" and value is not None:
            value = to_obj(value)
        obj[name] = value
    return obj


def encode(msg: Any) -> bytes:
    return json.dumps(to_obj(msg), separators=(",", ":")).encode()


# --- decoding: each field's check is built once from its type ---------------------------

Checker = Callable[[Any], Any]


def _name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _fail(where: str, what: str) -> NoReturn:
    raise MessageError(f"{where}: {what}")


def _checker(hint: Any, where: str) -> Checker:
    """A function that returns ``value`` as type ``hint`` (exact JSON types: a bool is not
    an int) or raises MessageError."""
    origin = get_origin(hint)
    if hint is Any:
        return lambda v: v
    if origin is Union or origin is types.UnionType:
        options = [_checker(o, where) for o in get_args(hint)]

        def union(v: Any) -> Any:
            for option in options:
                try:
                    return option(v)
                except MessageError:
                    continue
            _fail(where, f"unexpected {_name(v)}")
        return union
    if origin is Literal:
        allowed = frozenset(get_args(hint))
        return lambda v: v if type(v) is str and v in allowed else _fail(where, f"{str(v)[:40]!r} is not one of {sorted(allowed)}")
    if origin is tuple:
        item = _checker(get_args(hint)[0], f"{where}[]")
        return lambda v: tuple(item(x) for x in v) if type(v) is list else _fail(where, f"expected a list, got {_name(v)}")
    if origin is dict:
        return lambda v: v if type(v) is dict else _fail(where, f"expected an object, got {_name(v)}")
    if hint is type(None):
        return lambda v: None if v is None else _fail(where, f"expected null, got {_name(v)}")
    if hint is float:
        return lambda v: float(v) if type(v) in (int, float) else _fail(where, f"expected a number, got {_name(v)}")
    if hint in (str, int, bool):
        return lambda v: v if type(v) is hint else _fail(where, f"expected {hint.__name__}, got {_name(v)}")
    if dataclasses.is_dataclass(hint):
        return lambda v: from_obj(v, hint)
    raise TypeError(f"{where}: no rule for {hint!r}")  # a message type we wrote wrongly


_SCHEMAS: dict[type, list[tuple[str, str, Checker, bool]]] = {}


def _schema(cls: type) -> list[tuple[str, str, Checker, bool]]:
    """(field, nested message: ""/"one"/"many", checker, required) of each field."""
    if cls not in _SCHEMAS:
        hints = get_type_hints(cls)
        schema = []
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            args = [a for a in get_args(hint) if a is not type(None)]
            nested = ("many" if get_origin(hint) is tuple and args and dataclasses.is_dataclass(args[0]) else
                      "one" if dataclasses.is_dataclass(hint) or (args and dataclasses.is_dataclass(args[0])) else "")
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            schema.append((f.name, nested, _checker(hint, f"{cls.__name__}.{f.name}"), required))
        _SCHEMAS[cls] = schema
    return _SCHEMAS[cls]


def from_obj(obj: Any, cls: type) -> Any:
    """The message ``cls`` from parsed JSON; unknown or missing required fields are errors."""
    if type(obj) is not dict:
        raise MessageError(f"{cls.__name__}: expected an object, got {_name(obj)}")
    if obj.get("v") != VERSION or type(obj.get("v")) is not int:
        raise MessageError(f"{cls.__name__}: version {str(obj.get('v'))[:20]!r}, expected {VERSION}")
    if obj.get("type") != cls.__name__:
        raise MessageError(f"expected a {cls.__name__}, got {str(obj.get('type'))[:40]!r}")
    schema = _schema(cls)
    if len(obj) > len(schema) + 2 or any(k not in _NAMES[cls] for k in obj):
        raise MessageError(f"{cls.__name__}: unknown fields {sorted(set(obj) - _NAMES[cls])[:5]}")
    values = {}
    for name, _, check, required in schema:
        if name in obj:
            values[name] = check(obj[name])
        elif required:
            raise MessageError(f"{cls.__name__}: missing field {name!r}")
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


# built once here, before any fork, not in every test process
_NAMES = {cls: frozenset(f.name for f in dataclasses.fields(cls)) | {"v", "type"} for cls in MESSAGES.values()}
for _cls in MESSAGES.values():
    _schema(_cls)
