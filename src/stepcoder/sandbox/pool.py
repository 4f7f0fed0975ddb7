"""The warm worker pool: ``Sandbox`` and the module-level ``run_batch``."""

from __future__ import annotations

import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Sequence

from stepcoder.problems.types import Problem
from stepcoder.sandbox import protocol
from stepcoder.sandbox.config import SandboxConfig
from stepcoder.sandbox.judge import build_result
from stepcoder.sandbox.result import ExecResult, SandboxError

_START_TIMEOUT_S = 120.0
_SLACK_S = 30.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def worker_env() -> dict[str, str]:
    """The worker's whole environment: none of ours (it may hold secrets), one BLAS thread
    (no thread pools to fork, nothing against RLIMIT_NPROC), a fixed hash seed (set and dict
    orders, hence verdicts, repeat from run to run)."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": _PACKAGE_ROOT,
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def to_job(problem: Problem, program: str) -> dict[str, Any]:
    """What a worker gets: the program and each test's input, never the expected output."""
    tests = [{"kind": t.kind, "stdin": t.stdin, "args": tuple(t.args or ()), "code": t.code} for t in problem.tests]
    return {"program": program, "tests": tests, "fn_name": problem.fn_name,
            "stdio_entry": problem.stdio_entry, "test_setup": problem.test_setup}


class _WorkerDied(Exception):
    pass


class _Worker:
    """One warm worker process and its two pipes."""

    def __init__(self, config: SandboxConfig):
        # the worker's stderr goes to a file so that a failed start can say why
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stepcoder.sandbox.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, env=worker_env(), close_fds=True, cwd="/", start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd, self.rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        try:
            protocol.send(self.wfd, config)
            hello = protocol.recv(self.rfd, _START_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError) as exc:
            self.close()
            self.stderr.seek(0)
            tail = self.stderr.read()[-2000:].decode(errors="replace").strip()
            raise SandboxError(f"sandbox worker failed to start: {exc}" + (f"\n{tail}" if tail else "")) from exc
        self.isolation: dict[str, Any] = hello["isolation"]

    def request(self, job: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        try:
            protocol.send(self.wfd, job)
            return protocol.recv(self.rfd, timeout_s)
        except (OSError, EOFError, TimeoutError) as exc:
            raise _WorkerDied(str(exc)) from exc

    def close(self) -> None:
        try:
            protocol.send(self.wfd, None)
        except OSError:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


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
            self._workers = [_Worker(self.config) for _ in range(self.config.n_workers)]

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()

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
        todo: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
        for i, (problem, program) in enumerate(items):
            todo.put((i, to_job(problem, program)))
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
                i, reply = done.get()
                if isinstance(reply, BaseException):
                    raise reply
                results[i] = build_result(items[i][0], reply, self.config, reply.pop("_isolation"))
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

    def _request(self, k: int, job: dict[str, Any]) -> dict[str, Any]:
        """Send a job to worker k; if the worker dies or breaks, restart it and retry once."""
        timeout = max(len(job["tests"]), 1) * (self.config.wall_timeout_s + 1.0) + _SLACK_S
        failure = ""
        for attempt in range(2):
            try:
                reply = self._workers[k].request(job, timeout)
                if "infra_error" not in reply:
                    reply["_isolation"] = self._workers[k].isolation
                    return reply
                failure = reply["infra_error"]
            except _WorkerDied as exc:
                failure = f"worker died: {exc}"
            self._restart(k)
        raise SandboxError(f"sandbox failed twice on the same program: {failure}")

    def _restart(self, k: int) -> None:
        old = self._workers[k]
        old.proc.kill()
        old.close()
        self._workers[k] = _Worker(self.config)


def run_batch(items: Sequence[tuple[Problem, str]], config: SandboxConfig | None = None, progress: bool = False) -> list[ExecResult]:
    """Open a sandbox, run the items, close it (use ``Sandbox`` to keep workers warm)."""
    with Sandbox(config) as sandbox:
        return sandbox.run_batch(items, progress=progress)
