"""A warm worker: a Python that has imported the runner (and numpy) once, entered the
namespaces and the minimal root, and forked its clean template; each test process is a fork
of that template, so a test costs a fork, not an interpreter start.

Run as ``python -m stepcoder.sandbox.worker`` by :class:`stepcoder.sandbox.pool.Sandbox`;
it talks over the pipes that were its stdin/stdout (moved off fds 0/1 at once, so that no
child inherits them).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import traceback
from typing import Any

from stepcoder.sandbox import isolation, messages, protocol
from stepcoder.sandbox.child import open_stdio, set_prelude
from stepcoder.sandbox.config import PRELUDE_NAME, SandboxConfig
from stepcoder.sandbox.messages import ProgramReply, RunRequest, WorkerHello
from stepcoder.sandbox.runner import run_program, safe_env
from stepcoder.sandbox.judgeproc import Judge
from stepcoder.sandbox.template import Template


def _detach_stdio() -> tuple[int, int]:
    rfd, wfd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    return rfd, wfd


def _context(iso: dict[str, Any], cfg: SandboxConfig) -> dict[str, Any]:
    """What every test process of this worker shares: the process limit and the work folder
    (with a uid drop each job gets a uid of its own, :func:`run_job`)."""
    # RLIMIT_NPROC counts every task of the uid: a fresh uid has none, our own has many
    nproc = cfg.max_processes if iso["uid_drop"] else (iso["nproc_base"] or isolation.count_user_tasks(os.getuid())) + cfg.max_processes
    workdir = os.path.join(tempfile.gettempdir(), f"stepcoder-{os.getpid()}")
    return {"nproc": nproc, "workdir": workdir, "jobs": 0}


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


def run_job(request: RunRequest, cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any],
            template: Template, judge: Judge) -> ProgramReply:
    """Run one program in a fresh, empty work directory (same path each time: it is in the
    tests' environment as HOME and TMPDIR, set once per worker)."""
    workdir = ctx["workdir"]
    _rmtree(workdir)
    os.mkdir(workdir, 0o700)
    if iso["uid_drop"]:  # a uid of this job's own (isolation.job_uid)
        template.uid = isolation.job_uid(os.getpid(), ctx["jobs"])
        os.chown(workdir, template.uid, template.uid)
    ctx["jobs"] += 1
    try:
        return run_program(request, cfg, template, judge)
    except Exception:  # our own failure (a broken test in the data): the pool raises SandboxError
        return ProgramReply(infra_error=traceback.format_exc()[-4000:])
    finally:
        _rmtree(workdir)
        _clear_private_tmp(iso["private_tmp"], iso["kept_in_tmp"])


def main() -> int:
    rfd, wfd = _detach_stdio()
    cfg = SandboxConfig(**json.loads(protocol.recv(rfd)))
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
    iso = isolation.enter_worker_namespaces(cfg.isolation)
    for name in cfg.preload:
        importlib.import_module(name)
    set_prelude(PRELUDE_NAME, cfg.prelude)
    open_stdio()
    isolation.enter_root(iso, os.environ.get("PYTHONPATH"))
    tempfile.tempdir = "/tmp" if iso["minimal_root"] else None
    ctx = _context(iso, cfg)
    os.environ.clear()  # tests inherit this: nothing of the pool's environment
    os.environ.update(safe_env(ctx["workdir"]))
    isolation.make_undumpable()
    # objects that exist now are never collected: the garbage collector of a test process
    # then does not touch (and copy-on-write) the whole inherited heap
    gc.freeze()
    template = Template(cfg, iso, ctx)  # before the first program: it never holds one
    judge = Judge(cfg.memory_mb)
    protocol.send(wfd, messages.encode(WorkerHello(isolation=iso, pid=os.getpid())))
    while True:
        try:
            frame = protocol.recv(rfd)
        except protocol.ChannelClosed:
            return 0
        if not frame:
            return 0
        reply = run_job(messages.decode(frame, RunRequest), cfg, iso, ctx, template, judge)
        protocol.send(wfd, messages.encode(reply))
        if reply.restart:
            return 0


if __name__ == "__main__":
    sys.exit(main())
