"""A warm worker: a Python that has imported the runner (and numpy) once and forks a
supervisor per program, so a program costs a fork, not an interpreter start.

Run as ``python -m stepcoder.sandbox.worker`` by :class:`stepcoder.sandbox.pool.Sandbox`;
it talks over the pipes that were its stdin/stdout (moved off fds 0/1 at once, so that no
child inherits them).
"""

from __future__ import annotations

import gc
import importlib
import os
import pickle
import shutil
import signal
import stat
import sys
import tempfile
import traceback
from typing import Any

from stepcoder.sandbox import isolation, protocol
from stepcoder.sandbox.child import open_stdio, set_prelude
from stepcoder.sandbox.config import SandboxConfig
from stepcoder.sandbox.supervisor import run_program, safe_env, supervise

_SLACK_S = 10.0  # per program, on top of the tests' wall limits: fork, compile, cleanup


def _detach_stdio() -> tuple[int, int]:
    rfd, wfd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    return rfd, wfd


def _context(iso: dict[str, Any], cfg: SandboxConfig, test_uid: int) -> dict[str, Any]:
    uid = test_uid if iso["uid_drop"] else os.getuid()
    # RLIMIT_NPROC counts every task of the uid: a fresh uid has none, our own has many
    nproc = cfg.max_processes if iso["uid_drop"] else isolation.count_user_tasks(uid) + cfg.max_processes
    workdir = os.path.join(tempfile.gettempdir(), f"stepcoder-{test_uid}")
    return {"uid": uid, "nproc": nproc, "workdir": workdir}


def _rmtree(path: str) -> None:
    """Remove what a test left at ``path``, whatever it made of it (a symlink, a file, a
    directory it made unwritable, nothing at all)."""
    def make_writable(func: Any, p: str, exc: Any) -> None:
        os.chmod(os.path.dirname(p), stat.S_IRWXU)
        func(p)

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path, onerror=make_writable)


def _clear_private_tmp(dirs: list[str], keep: list[str]) -> None:
    """Empty the private tmpfs directories, except the interpreter paths bound back into
    them (a checkout or venv under /tmp): removing those would delete the real files."""
    for d in dirs:
        _clear_dir(d, keep)


def _clear_dir(directory: str, keep: list[str]) -> None:
    for entry in os.scandir(directory):
        path = entry.path
        if path in keep or os.path.ismount(path):
            continue
        if any(k.startswith(path + "/") for k in keep):
            _clear_dir(path, keep)  # an ancestor of a kept path: clear beside it
        else:
            _rmtree(path)


def run_job(job: dict[str, Any], cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """Run one program in a fresh, empty work directory (same path each time: it is in the
    tests' environment as HOME and TMPDIR, set once per worker)."""
    workdir = ctx["workdir"]
    _rmtree(workdir)
    os.mkdir(workdir, 0o700)
    if iso["uid_drop"]:
        os.chown(workdir, ctx["uid"], ctx["uid"])
    try:
        if iso["pid_namespace"]:  # we are pid 1 of our namespace: supervise in-process
            try:
                return run_program(job, cfg, iso, ctx)
            except Exception:  # our own failure: the pool raises SandboxError
                return {"infra_error": traceback.format_exc()}
        return _run_in_supervisor(job, cfg, iso, ctx)
    finally:
        _rmtree(workdir)
        _clear_private_tmp(iso["private_tmp"] or [], iso.get("kept_in_tmp", []))


def _run_in_supervisor(job: dict[str, Any], cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    reply_fd = os.memfd_create("reply", 0)
    try:
        pid = os.fork()
        if pid == 0:
            supervise(job, cfg, iso, ctx, reply_fd)
        deadline = max(len(job["tests"]), 1) * 2 * (cfg.wall_timeout_s + 1.0) + _SLACK_S
        finished, status = _wait(pid, deadline)
        # the supervisor cleaned up after each test; a /proc scan only if it was killed
        isolation.kill_descendants(False) if not finished else isolation.reap_zombies()
        size = os.fstat(reply_fd).st_size
        if finished and size == 0 and os.WIFSIGNALED(status):
            # same uid without namespaces: the program could kill its supervisor; its fault
            return {"supervisor_killed": signal.Signals(os.WTERMSIG(status)).name}
        if not finished or size == 0:
            return {"infra_error": f"supervisor {'timed out' if not finished else 'died without a reply'}"}
        return pickle.loads(os.pread(reply_fd, size, 0))
    finally:
        os.close(reply_fd)


def _wait(pid: int, timeout_s: float) -> tuple[bool, int]:
    import select

    pidfd = os.pidfd_open(pid)
    try:
        finished = bool(select.select([pidfd], [], [], timeout_s)[0])
    finally:
        os.close(pidfd)
    if not finished:
        os.kill(pid, signal.SIGKILL)  # as pid 1 of its namespace, it takes the tests with it
    return finished, os.waitpid(pid, 0)[1]


def _become_namespace_init() -> None:
    """Fork into a fresh PID namespace and carry on there as its pid 1; this process stays
    behind only to pass on the exit status. Then every process a test leaves behind is
    in our namespace, and kill(-1) after each test reaches them all (one fork per test)."""
    pid = isolation.fork_in_new_pid_namespace()
    if pid == 0:
        isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
        return
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
    _, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def main() -> int:
    rfd, wfd = _detach_stdio()
    cfg: SandboxConfig = protocol.recv(rfd)
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
    iso = isolation.enter_worker_namespaces(cfg.isolation)
    uid = isolation.test_uid()  # from our pid here: inside the PID namespace we are pid 1
    if iso["pid_namespace"]:
        _become_namespace_init()
    for name in cfg.preload:
        importlib.import_module(name)
    set_prelude(cfg.prelude)
    open_stdio()
    tempfile.tempdir = iso["private_tmp"][0] if iso["private_tmp"] else None
    base_ctx = _context(iso, cfg, uid)
    os.environ.clear()  # tests inherit this: nothing of the pool's environment
    os.environ.update(safe_env(base_ctx["workdir"]))
    # objects that exist now are never collected: the garbage collector of a test process
    # then does not touch (and copy-on-write) the whole inherited heap
    gc.freeze()
    protocol.send(wfd, {"ready": True, "isolation": iso, "pid": os.getpid()})
    while True:
        try:
            job = protocol.recv(rfd)
        except protocol.ChannelClosed:
            return 0
        if job is None:
            return 0
        protocol.send(wfd, run_job(job, cfg, iso, base_ctx))


if __name__ == "__main__":
    sys.exit(main())
