"""The clean template: a process forked from the worker before it receives any program,
from which every test process is forked. So a test process holds nothing of any other
program or test (the worker does: it is never the one that forks candidates).

The worker sends the test's descriptors (stdin, stdout, stderr, report, job and, for a test
judged by the judge process, the call socket) with SCM_RIGHTS; the template forks the test
process, answers its pid, waits for it, kills whatever it left behind (as root the template
is pid 1 of its own PID namespace and uses kill(-1); otherwise it is a subreaper and finds
the orphans in /proc) and answers how it ended.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import socket
from dataclasses import dataclass
from typing import Any, NoReturn

from stepcoder.sandbox import isolation, protocol
from stepcoder.sandbox.child import read_job, run_test
from stepcoder.sandbox.config import SandboxConfig


class TemplateGone(Exception):
    """The template exited or stopped answering (only a same-uid program can do that)."""


@dataclass
class Exit:
    status: int
    cpu_s: float


class Template:
    """The worker's handle on its template process."""

    def __init__(self, cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any]):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # as root the template is pid 1 of a PID namespace of its own: after each test,
        # kill(-1) reaches everything the test started, wherever it went
        def serve() -> None:
            try:
                ours.close()
                # nothing of the worker's (its channel to the pool above all: the pool must
                # see the end of a dead worker at once)
                os.closerange(3, theirs.fileno())
                os.closerange(theirs.fileno() + 1, 1 << 16)
                _serve(theirs, cfg, iso, ctx)
            finally:
                os._exit(70)

        if iso["pid_namespace"]:
            pid = isolation.spawn_namespace_init(serve)
        else:
            pid = os.fork()
            if pid == 0:
                serve()
        theirs.close()
        self.sock, self.pid, self.pidfd = ours, pid, -1
        # the uid of the next test processes, set per job by the worker under a uid drop; None
        # fails closed there (the test process cannot drop to it and exits)
        self.uid: int | None = None

    def spawn(self, fds: list[int]) -> None:
        """Fork a test process with these descriptors as its fds 0, 1, 2, ..."""
        try:
            socket.send_fds(self.sock, [b"s" if self.uid is None else b"s%d" % self.uid], fds)
            _, pidfds, _, _ = socket.recv_fds(self.sock, 1, 1)
        except (OSError, EOFError, ValueError) as exc:
            raise TemplateGone(str(exc)) from exc
        if len(pidfds) != 1:
            raise TemplateGone("no process descriptor for the test process")
        self.pidfd = pidfds[0]

    def kill_test(self) -> None:
        """Kill the running test process, through its process descriptor (its pid is the
        template's namespace's, which means nothing here)."""
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except OSError:
            pass

    def wait(self, timeout_s: float) -> Exit | None:
        """How the last test process ended, or None if it runs on after ``timeout_s``."""
        try:
            reply = json.loads(protocol.recv(self.sock.fileno(), timeout_s))
            exit_ = Exit(int(reply["status"]), float(reply["cpu"]))
        except TimeoutError:
            return None
        except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            raise TemplateGone(str(exc)) from exc
        os.close(self.pidfd)
        return exit_

    def close(self) -> None:
        self.sock.close()
        isolation.kill_group_and_process(self.pid)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _serve(sock: socket.socket, cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any]) -> NoReturn:
    # no parent-death signal (our parent may be the intermediate process, gone at once):
    # the template ends when the worker's end of the socket closes
    namespace_init = iso["pid_namespace"]
    if not namespace_init:
        isolation.become_subreaper()
    elif iso["user_namespace"] and iso["minimal_root"]:
        isolation.mount_proc("/proc")  # our PID namespace's: the worker's one could not be mounted
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 16, 8)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)
        uid = int(msg[1:]) if len(msg) > 1 else None  # the job's uid (the worker is trusted: it forked us)
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                _enter_test_process(fds, cfg, iso, ctx, uid)
                run_test(read_job())
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        socket.send_fds(sock, [b"p"], [pidfd])
        if sock not in select.select([pidfd, sock], [], [])[0] or pidfd in select.select([pidfd], [], [], 0)[0]:
            os.close(pidfd)
        else:  # the worker is gone (its end closed): so is the test
            isolation.kill_group_and_process(pid)
            os._exit(0)
        _, status, usage = os.wait4(pid, 0)
        if _has_children():  # something the test started outlived it (orphans come to us)
            isolation.kill_descendants(namespace_init)
        protocol.send(sock.fileno(), json.dumps({"status": status, "cpu": usage.ru_utime + usage.ru_stime}).encode())


def _has_children() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return False
    return True


def _enter_test_process(fds: list[int], cfg: SandboxConfig, iso: dict[str, Any], ctx: dict[str, Any], uid: int | None) -> None:
    os.setsid()  # its own process group: killed whole
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 64) for fd in fds]  # no dup2 below overwrites a source
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(len(fds), 1 << 16)
    os.chdir(ctx["workdir"])  # the environment is the worker's, already clean (worker.main)
    if iso["ipc_namespace"]:  # SysV memory, semaphores, queues: nothing left for the next test
        isolation.unshare(isolation.CLONE_NEWIPC)
    budget = cfg.budget
    isolation.set_limits(budget.cpu_backstop_s, cfg.memory_mb, cfg.max_output_bytes + 1, ctx["nproc"])
    if iso["uid_drop"]:
        isolation.drop_privileges(uid)
    elif iso["user_namespace"]:
        isolation.drop_capabilities()
    if iso["seccomp"]:
        isolation.install_seccomp()
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
