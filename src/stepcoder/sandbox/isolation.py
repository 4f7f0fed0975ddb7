"""Kernel protections: namespaces, privilege drop, resource limits, process-tree cleanup.

Python 3.11 has no ``os.unshare``/``os.setns`` (3.12+), so they are called through libc.
What is used depends on who runs us (see docs/sandbox.md):

- root (CI, containers): per worker, a network namespace (no network, loopback down), a
  private mount namespace with fresh tmpfs on /tmp, /var/tmp and /dev/shm, and a PID
  namespace whose pid 1 is the worker (so kill(-1) after a test reaches every descendant);
  each test runs as an unprivileged uid of its worker's own (so RLIMIT_NPROC binds and
  nothing outside the work directory and the private tmpfs is writable);
- an ordinary user: rlimits, a process group per test, and a child subreaper that finds
  and kills descendants which started their own session.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import stat
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV, MS_BIND, MS_MOVE = 0x4000, 1 << 18, 0x2, 0x4, 0x1000, 0x2000
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
PRIVATE_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
# Tests run as uid BASE_UID + (worker pid % UID_RANGE): one unprivileged uid per worker, so the
# per-uid RLIMIT_NPROC count of one worker's tests is not eaten by another's.
BASE_UID, UID_RANGE = 200_000, 100_000

_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), "prctl")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def enter_worker_namespaces(mode: str) -> dict[str, Any]:
    """Called once in each worker: enter what the kernel allows; return what is in force."""
    root = os.geteuid() == 0
    iso: dict[str, Any] = {
        "mode": mode, "root": root, "network_namespace": False, "mount_namespace": False,
        "private_tmp": False, "kept_in_tmp": [], "pid_namespace": False, "uid_drop": False,
        "rlimits": ["CPU", "AS", "FSIZE", "NPROC", "CORE"], "process_group": True,
        "subreaper": False, "clean_env": True, "workdir": True,
    }
    iso["subreaper"] = become_subreaper()
    if mode != "auto" or not root:
        return iso
    if _try(unshare, CLONE_NEWNET | CLONE_NEWNS):
        iso["network_namespace"] = iso["mount_namespace"] = True
        _mount("none", "/", None, MS_REC | MS_PRIVATE, None)  # our tmpfs mounts stay ours
        iso["private_tmp"], iso["kept_in_tmp"] = mount_private_tmp(interpreter_paths())
    iso["pid_namespace"] = _probe_pid_namespace()
    # the test uid must be able to read the interpreter (pyenv under /root is mode 700)
    if not _blocked_paths(interpreter_paths()):
        iso["uid_drop"] = True
    elif iso["mount_namespace"] and "/dev/shm" in iso["private_tmp"]:
        try:
            iso["exposed_paths"] = expose_interpreter(interpreter_paths())
            iso["uid_drop"] = True
        except OSError:
            pass
    return iso


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def mount_private_tmp(keep: list[str]) -> tuple[list[str], list[str]]:
    """Cover /tmp, /var/tmp and /dev/shm with fresh tmpfs mounts, except that the paths in
    ``keep`` (the interpreter, a virtual environment or a checkout that lives under /tmp, as
    in a CI clone) are bound back in, so the worker can still import what it needs.
    /dev/shm goes first: it stages the kept paths while the others are covered.
    Returns the covered directories and the paths bound back into them (which the cleanup
    between programs must never touch)."""
    order = sorted(PRIVATE_TMP_DIRS, key=lambda d: d != "/dev/shm")
    mounted: list[str] = []
    kept: list[str] = []
    for directory in order:
        if not os.path.isdir(directory):
            continue
        inside = [p for p in keep if _under(p, directory)]
        if inside and ("/dev/shm" not in mounted or directory == "/dev/shm"):
            continue  # nowhere to stage them: leave this directory shared rather than break imports
        staged = []
        for i, path in enumerate(inside):
            stage = f"/dev/shm/.keep-{len(mounted)}-{i}"
            os.makedirs(stage, exist_ok=True)
            _mount(path, stage, None, MS_BIND | MS_REC, None)
            staged.append((stage, path))
        if not _try(_mount, "tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=512m"):
            continue
        for stage, path in staged:
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(stage, path, None, MS_MOVE, None)
            os.rmdir(stage)
            kept.append(path)
        mounted.append(directory)
    return mounted, kept


def interpreter_paths() -> list[str]:
    """Directories the test process must be able to read: the interpreter and sys.path."""
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix, *sys.path}
    paths = sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)} - {"/"})
    return [p for p in paths if not any(p != q and p.startswith(q + "/") for q in paths)]


def _blocked_ancestor(path: str) -> str | None:
    """The topmost ancestor of ``path`` that others may not traverse (say /root, mode 700)."""
    parts = path.strip("/").split("/")
    for i in range(1, len(parts)):
        ancestor = "/" + "/".join(parts[:i])
        if not os.stat(ancestor).st_mode & stat.S_IXOTH:
            return ancestor
    return None


def _blocked_paths(paths: list[str]) -> dict[str, list[str]]:
    blocked: dict[str, list[str]] = {}
    for p in paths:
        if (ancestor := _blocked_ancestor(p)) is not None:
            blocked.setdefault(ancestor, []).append(p)
    return blocked


def expose_interpreter(paths: list[str]) -> list[str]:
    """In our mount namespace, make the interpreter readable by the unprivileged test uid
    when it lives under a private directory (pyenv under /root): cover that directory with
    an empty tmpfs (hiding the rest of it) and bind the interpreter's directories back in."""
    exposed = []
    for ancestor, needed in _blocked_paths(paths).items():
        staging = []
        for i, path in enumerate(needed):
            stage = f"/dev/shm/.stage{i}"  # /dev/shm is our private tmpfs by now
            os.makedirs(stage, exist_ok=True)
            _mount(path, stage, None, MS_BIND | MS_REC, None)
            staging.append(stage)
        _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
        for stage, path in zip(staging, needed):
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(stage, path, None, MS_MOVE, None)
            os.rmdir(stage)
            exposed.append(path)
    return exposed


def _try(fn: Any, *args: Any) -> bool:
    try:
        fn(*args)
        return True
    except OSError:
        return False


def _probe_pid_namespace() -> bool:
    try:
        pid = fork_in_new_pid_namespace()
    except OSError:
        return False
    if pid == 0:
        os._exit(0 if os.getpid() == 1 else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


_SELF_PID_NS: int | None = None


def fork_in_new_pid_namespace() -> int:
    """fork() whose child is pid 1 of a fresh PID namespace; the caller's namespace for later
    children is restored at once (unshare sets it, setns back to our own resets it), which
    costs one fork instead of the two of an intermediate process."""
    global _SELF_PID_NS
    if _SELF_PID_NS is None:
        _SELF_PID_NS = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    unshare(CLONE_NEWPID)
    try:
        pid = os.fork()
    except OSError:
        setns(_SELF_PID_NS, CLONE_NEWPID)
        raise
    if pid != 0:
        setns(_SELF_PID_NS, CLONE_NEWPID)
    return pid


def test_uid() -> int:
    return BASE_UID + os.getpid() % UID_RANGE


def count_user_tasks(uid: int) -> int:
    """Threads owned by ``uid`` now: RLIMIT_NPROC counts them all, not just ours."""
    total = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    total += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return total


def set_limits(cpu_s: float, memory_mb: int, output_bytes: int, nproc: int) -> None:
    """Hard limits of a test process. RLIMIT_CPU is the backstop of the exact ITIMER_PROF."""
    cpu = int(cpu_s) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (output_bytes, output_bytes))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid``, from the parent field of /proc/*/stat (the kernel's
    /proc/PID/task/TID/children is optional and missing on some kernels)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: parse after the last ')'
        if int(stat[stat.rindex(b")") + 2:].split(maxsplit=2)[1]) == pid:
            kids.append(int(entry))
    return kids


def kill_group_and_process(pid: int) -> None:
    _try(os.killpg, pid, signal.SIGKILL)
    _try(os.kill, pid, signal.SIGKILL)


def become_subreaper() -> bool:
    """Orphaned descendants (say, a child that started its own session) are re-parented to
    us instead of to init, so :func:`kill_descendants` can find them. Not inherited by fork."""
    return _try(prctl, PR_SET_CHILD_SUBREAPER, 1)


def kill_descendants(pid_namespace_init: bool) -> None:
    """Kill every process below us and reap it. As init of a PID namespace, kill(-1) reaches
    them all; otherwise (a subreaper) kill our children, whose orphans come back to us, and
    repeat until none is left."""
    if pid_namespace_init:
        while True:
            _try(os.kill, -1, signal.SIGKILL)
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                return
    while kids := children_of(os.getpid()):
        for kid in kids:
            _try(os.kill, kid, signal.SIGKILL)
        for kid in kids:
            _try(os.waitpid, kid, 0)


def reap_zombies() -> None:
    """Reap exited children without waiting (orphans re-parented to a subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
