"""Runs one program's tests: each test in a fresh limited process (which compiles and runs
the program), with the wall clock enforced, whatever the test left behind killed, and raw
observations reported. Candidate code never runs in the calling process: with a PID namespace
that is the worker itself (pid 1 of the namespace, so every descendant of a test can be
killed with kill(-1)); without one, a per-program supervisor process that is a subreaper.
"""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import traceback
from typing import Any, NoReturn

from stepcoder.sandbox import isolation
from stepcoder.sandbox.child import COMPILE_CHECK, REPORT_FD, compile_tests, run_test
from stepcoder.sandbox.config import SandboxConfig

_STDERR_TAIL = 2000
_MAX_REPORT = 64 << 20


def safe_env(workdir: str) -> dict[str, str]:
    """The whole environment a test sees: nothing of its parents'."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def supervise(job: dict[str, Any], cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any], reply_fd: int) -> NoReturn:
    """Entry point of a per-program supervisor process (no PID namespace): in its own
    session (a killpg aimed at it spares the worker), a subreaper; writes a pickled reply."""
    try:
        isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
        os.setsid()
        isolation.become_subreaper()
        reply = run_program(job, cfg, iso, ctx)
    except BaseException:  # our own failure: the pool raises SandboxError
        reply = {"infra_error": traceback.format_exc()}
    os.write(reply_fd, pickle.dumps(reply))
    os._exit(0)


def run_program(job: dict[str, Any], cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """Raw observations of every test (or a compile error, reported by the first test)."""
    compile_tests(job)
    if not job["tests"]:
        return _compile_check(job, cfg, iso, ctx)
    tests = []
    for test in job["tests"]:
        raw = _run_one(job, test, cfg, iso, ctx, cfg.coverage)
        if cfg.coverage and cfg.coverage_timeout_retry and _timed_out(raw):
            # the line tracer slows hot loops several-fold: a timeout under it is judged
            # again without it, keeping the lines the traced run reported
            traced_report, raw = raw["report"], _run_one(job, test, cfg, iso, ctx, False)
            raw["traced_report"] = traced_report
        if raw["report"].startswith('{"status": "compile_error"'):
            return {"compile_error": json.loads(raw["report"])}
        tests.append(raw)
        if cfg.fail_fast and _failed_regardless_of_answer(raw):
            break
    return {"tests": tests}


def _compile_check(job: dict[str, Any], cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """A problem without tests still compiles its program (in a limited test process, like a
    test would): a compile error, or a compiler that could not finish within the limits, is
    reported as a compile error; otherwise there are no test observations (the program passes)."""
    raw = _run_one(job, {"kind": COMPILE_CHECK}, cfg, iso, ctx, False)
    if raw["report"].startswith('{"status": "compile_error"'):
        return {"compile_error": json.loads(raw["report"])}
    if raw["report"] != '{"status": "ok"}':
        why = ("timed out" if _timed_out(raw) else
               f"was killed by signal {raw['signal']}" if raw["signal"] is not None else f"exited with code {raw['exit_code']}")
        return {"compile_error": {"error_type": "CompileCheckFailed", "message": f"compiling the program {why}", "line": None}}
    return {"tests": []}


def _timed_out(raw: dict[str, Any]) -> bool:
    return raw["wall_timeout"] or raw["signal"] in (signal.SIGXCPU, signal.SIGPROF) or '"status": "timeout"' in raw["report"][:40]


def _failed_regardless_of_answer(raw: dict[str, Any]) -> bool:
    """A test that timed out, crashed or raised: no answer can make it pass."""
    if raw["wall_timeout"] or raw["signal"] is not None:
        return True
    try:
        status = json.loads(raw["report"]).get("status")
    except (ValueError, AttributeError):
        return True
    return status not in ("ok", "exit")


def _memfd(name: str, data: bytes = b"") -> int:
    fd = os.memfd_create(name, 0)
    if data:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _run_one(job: dict[str, Any], test: dict[str, Any], cfg: SandboxConfig,
             iso: dict[str, Any], ctx: dict[str, Any], coverage: bool) -> dict[str, Any]:
    stdin = (test.get("stdin") or "").encode("utf-8", "surrogateescape")
    fds = [_memfd("stdin", stdin), _memfd("stdout"), _memfd("stderr"), _memfd("report")]
    pid = os.fork()
    if pid == 0:
        try:
            _enter_test_process(fds, cfg, iso, ctx)
            run_test(job, test, coverage, cfg.timeout_s)
        finally:
            os._exit(70)
    wall_timeout = not _wait_exit(pid, cfg.wall_timeout_s)
    if wall_timeout:
        isolation.kill_group_and_process(pid)
    _, status, usage = os.wait4(pid, 0)
    isolation.kill_descendants(iso["pid_namespace"])
    try:
        return _observation(fds, status, usage, wall_timeout, cfg)
    finally:
        for fd in fds:
            os.close(fd)


def _wait_exit(pid: int, timeout_s: float) -> bool:
    pidfd = os.pidfd_open(pid)
    try:
        return bool(select.select([pidfd], [], [], timeout_s)[0])
    finally:
        os.close(pidfd)


def _enter_test_process(fds: list[int], cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any]) -> None:
    os.setsid()  # its own process group: killed whole
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(REPORT_FD + 1, 1 << 16)
    os.chdir(ctx["workdir"])  # the environment is the worker's, already clean (worker.main)
    isolation.set_limits(cfg.timeout_s, cfg.memory_mb, cfg.max_output_bytes + 1, ctx["nproc"])
    if iso["uid_drop"]:
        isolation.drop_privileges(ctx["uid"])
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)


def _read_fd(fd: int, limit: int, tail: bool = False) -> bytes:
    size = os.fstat(fd).st_size
    start = max(0, size - limit) if tail else 0
    return os.pread(fd, min(size, limit), start)


def _observation(fds: list[int], status: int, usage: Any, wall_timeout: bool, cfg: SandboxConfig) -> dict[str, Any]:
    stdout = _read_fd(fds[1], cfg.max_output_bytes + 1)
    return {
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "wall_timeout": wall_timeout,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "stdout": stdout[: cfg.max_output_bytes].decode("utf-8", "replace"),
        "stdout_overflow": len(stdout) > cfg.max_output_bytes,
        "stderr_tail": _read_fd(fds[2], _STDERR_TAIL, tail=True).decode("utf-8", "replace"),
        "report": _read_fd(fds[3], _MAX_REPORT).decode("utf-8", "replace"),
    }
