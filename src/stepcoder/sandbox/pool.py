"""The warm worker pool: ``Sandbox`` and the module-level ``run_batch``."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Sequence

from stepcoder.problems.types import Problem
from stepcoder.sandbox import messages, protocol
from stepcoder.sandbox.asserts import ProgramShape, plan
from stepcoder.sandbox.config import PRELUDE_FORMATS, PRELUDE_NAME, SandboxConfig
from stepcoder.sandbox.judge import build_result, program_error
from stepcoder.sandbox.messages import MessageError, ProgramReply, RunRequest, TestInput, WorkerHello
from stepcoder.sandbox.plain import to_tagged
from stepcoder.sandbox.result import ExecResult, SandboxError, Verdict

_START_TIMEOUT_S = 120.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def worker_env() -> dict[str, str]:
    """The worker's whole environment: none of ours (it may hold secrets), one BLAS thread
    (no thread pools to fork, nothing against RLIMIT_NPROC), a fixed hash seed (set and dict
    orders, hence verdicts, repeat from run to run)."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": _PACKAGE_ROOT,
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@functools.lru_cache(maxsize=4096)
def _test_compiles(code: str) -> str | None:
    try:
        compile(code, "<test>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_tests(problem: Problem) -> None:
    """A test of the data that does not compile is our failure, not the program's."""
    for k, code in enumerate([problem.test_setup or ""] + [t.code or "" for t in problem.tests if t.kind == "assert"]):
        error = _test_compiles(code)
        if error:
            raise SandboxError(f"problem {problem.id}: {'test setup' if k == 0 else f'assert test {k}'} does not compile: {error}")


def to_request(problem: Problem, program: str) -> RunRequest:
    """What a worker gets: the program and each test's input, never an expected output
    (an assert test's code, which holds its expected values, goes to the judge process)."""
    _check_tests(problem)
    shape = None
    tests = []
    for t in problem.tests:
        if t.kind == "stdio":
            tests.append(TestInput("stdio", "parent", stdin=t.stdin or ""))
        elif t.kind == "call":
            tests.append(TestInput("call", "parent", args=to_tagged(list(t.args or ()))))
        else:
            shape = shape or ProgramShape.of(program)
            context = problem.prompt if problem.source_format == "humaneval" else None
            judged_by, stubs, imports, classes = plan(t.code or "", problem.test_setup, context, shape,
                                                      problem.entry_point or problem.fn_name)
            tests.append(TestInput("assert", judged_by, code=t.code or "", stubs=stubs, imports=imports,  # type: ignore[arg-type]
                                   classes=classes))
    apps = problem.source_format in PRELUDE_FORMATS
    return RunRequest(program=program, tests=tuple(tests), fn_name=problem.fn_name, stdio_entry=problem.stdio_entry,
                      test_setup=problem.test_setup,
                      trusted_context=problem.prompt if problem.source_format == "humaneval" else None,
                      prelude=PRELUDE_NAME if apps else None, wrap_stdio=apps)


class _WorkerDied(Exception):
    pass


class _Worker:
    """One warm worker process and its two pipes."""

    def __init__(self, config: SandboxConfig):
        """Start the process; :meth:`ready` waits for it (workers start side by side)."""
        # the worker's stderr goes to a file so that a failed start can say why
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stepcoder.sandbox.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, env=worker_env(), close_fds=True, cwd="/", start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd, self.rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self.config = config

    def ready(self) -> _Worker:
        try:
            protocol.send(self.wfd, json.dumps(dataclasses.asdict(self.config)).encode())
            hello = messages.decode(protocol.recv(self.rfd, _START_TIMEOUT_S), WorkerHello)
        except (OSError, EOFError, TimeoutError, MessageError) as exc:
            self.close()
            self.stderr.seek(0)
            tail = self.stderr.read()[-2000:].decode(errors="replace").strip()
            raise SandboxError(f"sandbox worker failed to start: {exc}" + (f"\n{tail}" if tail else "")) from exc
        self.isolation: dict[str, Any] = hello.isolation
        return self

    def request(self, request: bytes, timeout_s: float) -> bytes:
        """The worker's reply; ``TimeoutError`` past the deadline, ``_WorkerDied`` if it exits."""
        try:
            protocol.send(self.wfd, request)
            return protocol.recv(self.rfd, timeout_s)
        except TimeoutError:
            raise
        except (OSError, EOFError) as exc:
            raise _WorkerDied(str(exc)) from exc

    def shut(self) -> None:
        """Ask the worker to exit (an empty frame, then end of input); returns at once."""
        try:
            protocol.send(self.wfd, b"")
        except OSError:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

    def reap(self, timeout_s: float = 5.0) -> None:
        """Wait for the worker's exit (killed after ``timeout_s``). A pidfd wakes the wait the
        moment it exits; ``Popen.wait(timeout)`` polls with sleeps of up to 50 ms."""
        try:
            pidfd = os.pidfd_open(self.proc.pid)
        except (OSError, AttributeError):  # already reaped, or no pidfd on this kernel
            pidfd = None
        if pidfd is not None:
            try:
                select.select([pidfd], [], [], timeout_s)
            finally:
                os.close(pidfd)
        try:
            self.proc.wait(timeout=0 if pidfd is not None else timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        self.shut()
        self.reap()


class Sandbox:
    """A pool of warm workers that run candidate programs against problems' tests.

    >>> with Sandbox(SandboxConfig(workers=1)) as sb:  # doctest: +SKIP
    ...     sb.run(problem, "print(int(input()) * 2)").verdict
    <Verdict.PASS: 'PASS'>
    """

    def __init__(self, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        self._workers: list[_Worker] = []

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        if not self._workers:
            started = [_Worker(self.config) for _ in range(self.config.n_workers)]
            try:
                self._workers = [w.ready() for w in started]
            except SandboxError:
                for w in started:
                    w.close()
                raise

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:  # every worker winds down at once, then each is reaped
            worker.shut()
        for worker in workers:
            worker.reap()

    @property
    def isolation(self) -> dict[str, Any]:
        """Protections in force (the first worker's; all workers get the same)."""
        self.start()
        return dict(self._workers[0].isolation)

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers. Between programs a worker has no descendant but,
        with a PID namespace, the one process that carries on as the namespace's pid 1."""
        return [w.proc.pid for w in self._workers]

    def run(self, problem: Problem, program: str) -> ExecResult:
        return self.run_batch([(problem, program)])[0]

    def run_batch(self, items: Sequence[tuple[Problem, str]], progress: bool = False) -> list[ExecResult]:
        """Run every (problem, program) pair; results in input order. Raises SandboxError on
        an infrastructure failure (a worker that dies twice on the same program)."""
        self.start()
        todo: queue.Queue[tuple[int, RunRequest]] = queue.Queue()
        for i, (problem, program) in enumerate(items):
            todo.put((i, to_request(problem, program)))
        done: queue.Queue[tuple[int, Any]] = queue.Queue()
        stop = threading.Event()
        threads = [threading.Thread(target=self._drain, args=(k, todo, done, stop), daemon=True)
                   for k in range(min(len(self._workers), len(items)))]
        for t in threads:
            t.start()
        try:
            return self._collect(items, done, progress)
        finally:
            stop.set()
            for t in threads:
                t.join()

    def _collect(self, items: Sequence[tuple[Problem, str]], done: queue.Queue, progress: bool) -> list[ExecResult]:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(items), desc="sandbox", unit="prog")
        results: list[ExecResult | None] = [None] * len(items)
        try:
            for _ in range(len(items)):
                i, outcome = done.get()
                if isinstance(outcome, BaseException):
                    raise outcome
                results[i] = self._result(items[i], *outcome)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return results  # type: ignore[return-value]

    def _drain(self, k: int, todo: queue.Queue, done: queue.Queue, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                i, job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((i, self._request(k, job)))
            except BaseException as exc:  # handed to the caller's thread, which raises it
                done.put((i, exc))
                return

    def _result(self, item: tuple[Problem, str], reply: ProgramReply | ExecResult, iso: dict[str, Any]) -> ExecResult:
        if isinstance(reply, ExecResult):
            return reply
        return build_result(item[0], item[1], reply, self.config, iso)

    def _request(self, k: int, request: RunRequest) -> tuple[ProgramReply | ExecResult, dict[str, Any]]:
        """Send a program to worker k and decode the reply. A worker that dies or sends
        what does not decode is restarted and asked once more; then the outcome is the
        program's verdict where the program could have caused it, else SandboxError."""
        deadline = self.config.budget.pool_deadline_s(len(request.tests))
        data = messages.encode(request)
        failure, malformed = "", False
        for attempt in range(2):
            iso = self._workers[k].isolation
            try:
                reply = messages.decode(self._workers[k].request(data, deadline), ProgramReply)
            except TimeoutError:
                # the worker enforces the program's budget itself: past the pool's deadline
                # it was stopped (a program of its uid can do that) or is stuck
                self._restart(k)
                return self._error(Verdict.TIMEOUT, "ProgramTimeBudget", f"no reply within {deadline:g} s", iso), iso
            except MessageError as exc:
                failure, malformed = f"malformed reply: {exc}", True
            except _WorkerDied as exc:
                failure, malformed = f"worker died: {exc}", False
            else:
                if not reply.infra_error:
                    if reply.restart:
                        self._restart(k)
                    return reply, iso
                failure = reply.infra_error
                if attempt == 1:
                    raise SandboxError(f"sandbox failed twice on the same program: {failure}")
            self._restart(k)
        if malformed:  # untrusted input that does not decode: the program's verdict
            return self._error(Verdict.RUNTIME_ERROR, "BadReport", failure[:300], iso), iso
        if self._workers[k].isolation.get("uid_drop"):
            raise SandboxError(f"sandbox failed twice on the same program: {failure}")
        # without a uid of its own the program can reach its worker: its verdict
        return self._error(Verdict.RUNTIME_ERROR, "SandboxProcessKilled", failure[:300], iso), iso

    def _error(self, verdict: Verdict, error_type: str, message: str, iso: dict[str, Any]) -> ExecResult:
        return program_error(verdict, error_type, message, self.config, iso)

    def _restart(self, k: int) -> None:
        old = self._workers[k]
        old.proc.kill()
        old.close()
        self._workers[k] = _Worker(self.config).ready()


def run_batch(items: Sequence[tuple[Problem, str]], config: SandboxConfig | None = None, progress: bool = False) -> list[ExecResult]:
    """Open a sandbox, run the items, close it (use ``Sandbox`` to keep workers warm)."""
    with Sandbox(config) as sandbox:
        return sandbox.run_batch(items, progress=progress)
