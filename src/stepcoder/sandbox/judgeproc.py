"""The judge process: runs the trusted code of assert tests, with each program function a
test uses replaced by a stub that calls the candidate's process over a socket (arguments and
return values as plain data), and answers one :class:`JudgeReport` per test.

One judge per worker, forked from the worker (never from the template the candidates come
from) and kept for the next tests: it holds expected values, and is out of the candidate's
reach (root while the candidate is not; non-dumpable; no descriptor of it is ever in the
candidate's process). A judge that does not answer within a test's wall time is killed and
replaced.
"""

from __future__ import annotations

import builtins
import collections
import functools
import os
import resource
import signal
import socket
from typing import Any, NoReturn

from stepcoder.sandbox import isolation, messages, protocol
from stepcoder.sandbox.asserts import leading_calls
from stepcoder.sandbox.child import exception_text
from stepcoder.sandbox.messages import CallReply, CallRequest, JudgeJob, JudgeReport
from stepcoder.sandbox.plain import BadTaggedData, NotPlainData, from_tagged, to_tagged

class _Stop(BaseException):
    """Ends the test at once (a BaseException: the test's own ``except Exception`` cannot
    catch it) with this report."""

    def __init__(self, report: JudgeReport):
        super().__init__(report.status)
        self.report = report


_PREFETCH_BYTES = 64 << 10  # well inside a socket buffer: sending them never blocks


class _Channel:
    def __init__(self, fd: int):
        self.fd, self.calls, self.ran_program = fd, 0, False
        self.pending: collections.deque[CallRequest] = collections.deque()

    def prefetch(self, calls: list[tuple[str, list, dict]]) -> None:
        """Send the calls the test surely makes first (see asserts.leading_calls) at once."""
        frames, size = [], 0
        for name, args, kwargs in calls:
            try:
                request = CallRequest(name, to_tagged(args), to_tagged(kwargs))
            except NotPlainData:
                break
            frame = messages.encode(request)
            size += len(frame)
            if size > _PREFETCH_BYTES:
                break
            self.pending.append(request)
            frames.append(frame)
        try:
            for frame in frames:
                protocol.send(self.fd, frame)
        except OSError:
            raise _Stop(JudgeReport("candidate_gone")) from None

    def _recv(self) -> bytes:
        try:
            return protocol.recv(self.fd)
        except (OSError, EOFError):
            raise _Stop(JudgeReport("candidate_gone", calls=self.calls)) from None

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], kind: str = "call",
             handle: int = 0, attr: str = "") -> Any:
        try:
            request = CallRequest(name, to_tagged(list(args), handle=_handle_of), to_tagged(kwargs, handle=_handle_of),
                                  kind, handle, attr)  # type: ignore[arg-type]
        except NotPlainData as err:
            raise _Stop(JudgeReport("unjudgeable", message=str(err))) from None
        self.calls += 1
        self.ran_program = self.ran_program or kind == "call"
        if self.pending and self.pending[0] == request:
            self.pending.popleft()
            frame = self._recv()
        else:
            while self.pending:  # the test went another way: the answers sent ahead are dropped
                self.pending.popleft()
                self._recv()
            try:
                protocol.send(self.fd, messages.encode(request))
            except OSError:
                raise _Stop(JudgeReport("candidate_gone", calls=self.calls)) from None
            frame = self._recv()
        try:
            reply = messages.decode(frame, CallReply)
            value = from_tagged(reply.value)
        except (messages.MessageError, BadTaggedData) as err:
            raise _Stop(JudgeReport("bad_reply", message=str(err)[:200], calls=self.calls)) from None
        if reply.status == "ok" and reply.handle is not None:
            if kind != "construct":  # only an object we asked for may stay there
                raise _Stop(JudgeReport("bad_reply", message="a handle where a value belongs", calls=self.calls))
            return _Remote(self, reply.handle)
        if reply.status == "ok":
            return value
        error_type = "UnsupportedReturnType" if reply.status == "bad_value" else reply.error_type
        raise _Stop(JudgeReport("candidate_error", error_type, reply.message, reply.line, self.calls))


class _Remote:
    """An object of the program's class, built in the candidate's process and kept there;
    the judge may set its attributes, read back what it set (until a program function has
    run, which may have changed them) and pass it to the program's functions, nothing more
    (it compares equal only to itself)."""

    __slots__ = ("_channel", "_handle", "_set")

    def __init__(self, channel: _Channel, handle: int):
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_set", {})

    def __setattr__(self, attr: str, value: Any) -> None:
        self._channel.call("", (value,), {}, "setattr", self._handle, attr)
        self._set[attr] = value

    def __getattr__(self, attr: str) -> Any:
        if attr in self._set and not self._channel.ran_program:
            return self._set[attr]
        raise _Stop(JudgeReport("unjudgeable", message=f"the test reads .{attr} of a program object"))


def _handle_of(obj: Any) -> int | None:
    return obj._handle if type(obj) is _Remote else None


def _stub(channel: _Channel, name: str, kind: str = "call") -> Any:
    def stub(*args: Any, **kwargs: Any) -> Any:
        return channel.call(name, args, kwargs, kind)

    stub.__name__ = stub.__qualname__ = name
    return stub


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, filename: str) -> Any:
    """The judge lives on: a problem's trusted code, met again with each new sample, is
    compiled once."""
    return compile(source, filename, "exec", dont_inherit=True)


def _last_frame_is_test(tb: Any) -> bool:
    last = None
    while tb is not None:
        last, tb = tb.tb_frame.f_code.co_filename, tb.tb_next
    return last == "<test>"


def judge(job: JudgeJob, call_fd: int) -> JudgeReport:
    test = job.test
    channel = _Channel(call_fd)
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        if job.context:
            exec(_compiled(job.context, "<context>"), ns)
        for statement in test.imports:
            exec(statement, ns)
    except Exception as exc:  # the trusted code does not run here: let the candidate's process run the test
        return JudgeReport("unjudgeable", type(exc).__name__, exception_text(exc))
    for name in test.stubs:
        ns[name] = _stub(channel, name)
    for name in test.classes:
        ns[name] = _stub(channel, name, "construct")
    try:
        channel.prefetch(leading_calls(test.code, test.stubs))
        if job.setup:
            exec(_compiled(job.setup, "<setup>"), ns)
        exec(_compiled(test.code, "<test>"), ns)
    except _Stop as stop:
        return stop.report
    except AssertionError as exc:
        status = "fail" if _last_frame_is_test(exc.__traceback__) else "test_error"
        return JudgeReport(status, "AssertionError", exception_text(exc), None, channel.calls)
    except Exception as exc:  # the test itself raised on what the program returned (say, a TypeError)
        return JudgeReport("test_error", type(exc).__name__, exception_text(exc), None, channel.calls)
    return JudgeReport("pass", calls=channel.calls)


def _answer(job: JudgeJob, call_fd: int) -> JudgeReport:
    try:
        return judge(job, call_fd)
    except BaseException as exc:  # a judge that cannot judge: its report says so
        return JudgeReport("test_error", type(exc).__name__, exception_text(exc))
    finally:
        os.close(call_fd)  # the candidate sees the end of the test


def _serve(sock: socket.socket, memory_mb: int) -> NoReturn:
    os.setsid()
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 1, 1)
            if not msg or len(fds) != 1:
                os._exit(0)
            frame = protocol.recv(sock.fileno())
        except (OSError, EOFError):
            os._exit(0)
        try:
            job = messages.decode(frame, JudgeJob)
        except messages.MessageError as exc:
            report = JudgeReport("test_error", "BadJob", str(exc)[:200])
            os.close(fds[0])
        else:
            report = _answer(job, fds[0])
        protocol.send(sock.fileno(), messages.encode(report))


class Judge:
    """The worker's handle on its judge process (started on first use, replaced when it
    does not answer in time)."""

    def __init__(self, memory_mb: int):
        self.memory_mb = memory_mb
        self.sock: socket.socket | None = None
        self.pid = 0

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                os.closerange(3, theirs.fileno())
                os.closerange(theirs.fileno() + 1, 1 << 16)
                _serve(theirs, self.memory_mb)
            finally:
                os._exit(70)
        theirs.close()
        self.sock, self.pid = ours, pid
        return ours

    def send(self, job: JudgeJob, call_fd: int) -> None:
        sock = self.sock or self._start()
        socket.send_fds(sock, [b"j"], [call_fd])
        protocol.send(sock.fileno(), messages.encode(job))

    def result(self, timeout_s: float) -> str:
        """The JudgeReport text, or "" if the judge did not answer in time (then it is killed)."""
        assert self.sock is not None
        try:
            return protocol.recv(self.sock.fileno(), timeout_s).decode("utf-8", "replace")
        except (TimeoutError, OSError, EOFError):
            self.close()
            return ""

    def close(self) -> None:
        if self.sock is None:
            return
        self.sock.close()
        self.sock = None
        isolation.kill_group_and_process(self.pid)
        os.waitpid(self.pid, 0)
