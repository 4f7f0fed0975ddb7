"""Kernel protections: namespaces, privilege drop, resource limits, process-tree cleanup.

Python 3.11 has no ``os.unshare``/``os.setns`` (3.12+), so they are called through libc.
What is used depends on who runs us (see docs/sandbox.md):

- root (CI, containers): per worker, network and IPC namespaces (no network, no shared
  SysV memory or message queues), a mount namespace with a minimal read-only root (system
  directories and the interpreter; fresh /tmp, /var/tmp, /dev/shm, /run; a /proc that shows
  a process only its own uid's processes); per test process a PID namespace of its own (its
  end kills everything it started); tests run as an unprivileged uid of their job's own;
- everyone: rlimits, seccomp (no keyring, ptrace, process_vm_*, mount, ...), non-dumpable
  sandbox processes, a process group per test, and a child subreaper that finds and kills
  descendants which started their own session.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import stat
import sys
from typing import Any, Callable

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV, MS_BIND, MS_MOVE = 0x4000, 1 << 18, 0x2, 0x4, 0x1000, 0x2000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 4, 36, 38, 22
MS_RDONLY, MS_REMOUNT, MS_NOEXEC = 0x1, 0x20, 0x8
# Each job (one program and its tests) runs as an unprivileged uid of its own: BASE_UID +
# (worker pid % PID_SPAN) * JOB_UIDS + (job % JOB_UIDS). Workers never share a uid (pids
# differ below PID_SPAN, Linux's largest pid_max) and a worker's next JOB_UIDS - 1 jobs get
# other uids: whatever one job leaves behind (a process that escaped the kill, a file) belongs
# to a uid the next job is not, and the per-uid RLIMIT_NPROC count starts at zero for each job.
BASE_UID, JOB_UIDS, PID_SPAN = 1_000_000, 128, 1 << 22

_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), "prctl")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def enter_worker_namespaces(mode: str) -> dict[str, Any]:
    """Called once in each worker: enter what the kernel allows; return what is in force.
    As root: network, IPC and mount namespaces and a minimal root (see
    :func:`enter_minimal_root`), a PID namespace per test process, a uid of each job's own
    for its tests."""
    root = os.geteuid() == 0
    iso: dict[str, Any] = {
        "mode": mode, "root": root, "user_namespace": False, "network_namespace": False, "ipc_namespace": False,
        "mount_namespace": False, "nproc_base": 0,
        "minimal_root": False, "private_tmp": [], "kept_in_tmp": [], "pid_namespace": False, "uid_drop": False,
        "rlimits": ["CPU", "AS", "FSIZE", "NPROC", "CORE"], "process_group": True, "subreaper": False,
        "seccomp": mode == "auto" and seccomp_supported(), "undumpable": True, "clean_env": True,
        "workdir": True, "clean_template": True,
    }
    iso["subreaper"] = become_subreaper()
    if mode != "auto":
        return iso
    if not root:
        # RLIMIT_NPROC counts every task of our real uid, inside a user namespace or not
        iso["nproc_base"] = count_user_tasks(os.getuid())
        if not _enter_user_namespace():
            return iso
        iso["user_namespace"] = True  # root of its own namespaces, nobody outside them
    if _try(unshare, CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC):
        iso["network_namespace"] = iso["mount_namespace"] = iso["ipc_namespace"] = True
        _mount("none", "/", None, MS_REC | MS_PRIVATE, None)  # our mounts stay ours
    iso["pid_namespace"] = _probe_pid_namespace()
    # the test uid must be able to read the interpreter (pyenv under /root is mode 700):
    # in the minimal root every directory above it is a fresh 755 one
    # (a user namespace made without root maps one uid: no other uid to drop to)
    iso["uid_drop"] = root and (iso["mount_namespace"] or not _blocked_paths(interpreter_paths()))
    return iso


def _enter_user_namespace() -> bool:
    """Without root: a user namespace where we are root (mapped to our own uid only), so
    that the network, IPC, mount and PID namespaces and the minimal root work as for root."""
    uid, gid = os.getuid(), os.getgid()
    if not _try(unshare, CLONE_NEWUSER):
        return False
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    except OSError:
        return False
    return True


_CAPABILITY_VERSION_3 = 0x20080522
PR_CAPBSET_DROP, PR_SET_SECUREBITS = 24, 28
_SECUREBITS_LOCKED = 0x2F  # NOROOT, NO_SETUID_FIXUP and KEEP_CAPS, each locked


def drop_capabilities() -> None:
    """For a test process that is root only inside our user namespace: no capability now,
    none regained by an execve as uid 0, none in the bounding set."""
    prctl(PR_SET_SECUREBITS, _SECUREBITS_LOCKED)
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            break
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")


def enter_root(iso: dict[str, Any], package_root: str | None) -> None:
    """The worker's last step as root before it serves: chroot into the minimal root.
    ``package_root`` (where our own package was imported from: the project tree) is left
    out; the worker has imported what it needs by then."""
    if not iso["mount_namespace"]:
        return
    keep = [p for p in interpreter_paths() if p != package_root]
    iso["private_tmp"] = enter_minimal_root(keep)
    iso["kept_in_tmp"] = [p for p in keep if any(_under(p, d) for d in iso["private_tmp"])]
    iso["minimal_root"] = True


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


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


def _try(fn: Any, *args: Any) -> bool:
    try:
        fn(*args)
        return True
    except OSError:
        return False


def _probe_pid_namespace() -> bool:
    try:
        pid = spawn_namespace_init(lambda: os._exit(0 if os.getpid() == 1 else 1))
    except OSError:
        return False
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def spawn_namespace_init(target: Callable[[], Any]) -> int:
    """Start ``target`` as pid 1 of a fresh PID namespace and return its pid here. An
    intermediate process unshares and forks, so our own namespace for later children never
    changes (setting it back needs privileges a user namespace lacks); the new process is
    re-parented to us, a subreaper."""
    read, write = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(read)
            unshare(CLONE_NEWPID)
            pid = os.fork()
            if pid == 0:
                os.close(write)
                target()
            os.write(write, str(pid).encode())
        finally:
            os._exit(0)
    os.close(write)
    data = os.read(read, 32)
    os.close(read)
    os.waitpid(middle, 0)
    if not data:
        raise OSError("could not start a process in a new PID namespace")
    return int(data)


def job_uid(worker_pid: int, job: int) -> int:
    """The uid the tests of a worker's ``job``-th program run as (as root; below 2**31).

    >>> job_uid(4242, 0), job_uid(4242, 1), job_uid(4242, 128), job_uid(4243, 0)
    (1542976, 1542977, 1542976, 1543104)
    """
    return BASE_UID + (worker_pid % PID_SPAN) * JOB_UIDS + job % JOB_UIDS


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


REPORT_ROOM = 64 << 20


def set_limits(cpu_backstop_s: int, memory_mb: int, output_bytes: int, nproc: int) -> None:
    """Hard limits of a test process. RLIMIT_CPU is the backstop of the exact ITIMER_PROF."""
    cpu = cpu_backstop_s
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    # the hard limit leaves room for the report, written after the soft limit is raised to it
    resource.setrlimit(resource.RLIMIT_FSIZE, (output_bytes, output_bytes + REPORT_ROOM))
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


def make_undumpable() -> None:
    """Our processes (worker, template, judge) become non-dumpable: their /proc files belong
    to root and ptrace/process_vm_readv are refused to a same-uid process, so a candidate
    running as our own uid (no root) cannot read or patch their memory."""
    prctl(PR_SET_DUMPABLE, 0)


# --- seccomp: system calls a test process never needs -----------------------------------

# x86_64 numbers: keyctl, add_key, request_key (the kernel keyring is shared by uid),
# ptrace, process_vm_readv/writev, kcmp, pidfd_getfd (another process's memory or files),
# perf_event_open, bpf, userfaultfd, mount, umount2, pivot_root, chroot, unshare, setns,
# io_uring_setup/enter/register, open_by_handle_at, kexec_load, init_module, finit_module.
_BLOCKED_X86_64 = (250, 248, 249, 101, 310, 311, 312, 438, 298, 321, 323, 165, 166, 155, 161, 272, 308,
                   425, 426, 427, 304, 246, 175, 313)
_AUDIT_ARCH_X86_64 = 0xC000003E
_SECCOMP_RET_ALLOW, _SECCOMP_RET_ERRNO, _EPERM = 0x7FFF0000, 0x00050000, 1


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _seccomp_program() -> Any:
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    deny = _SECCOMP_RET_ERRNO | _EPERM
    n = len(_BLOCKED_X86_64)
    code = [(ld_abs, 0, 0, 4),  # arch
            (jeq, 1, 0, _AUDIT_ARCH_X86_64),
            (ret, 0, 0, deny),  # another ABI (x32 through int 0x80, i386): refused
            (ld_abs, 0, 0, 0),  # syscall number
            (jge, n + 1, 0, 0x40000000)]  # the x32 ABI
    code += [(jeq, n - i, 0, nr) for i, nr in enumerate(_BLOCKED_X86_64)]
    code += [(ret, 0, 0, _SECCOMP_RET_ALLOW), (ret, 0, 0, deny)]
    filters = (_SockFilter * len(code))(*[_SockFilter(*c) for c in code])
    return _SockFprog(len(code), filters), filters


def seccomp_supported() -> bool:
    return os.uname().machine == "x86_64"


_SECCOMP = _seccomp_program()  # built once, before any fork


def install_seccomp() -> None:
    """Refuse (EPERM) the system calls of ``_BLOCKED_X86_64`` in this process and its
    children. Works without root (no_new_privs first)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    _check(_libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(2), ctypes.byref(_SECCOMP[0]), 0, 0), "seccomp")


# --- a minimal root for the worker and everything it forks (root only) -------------------

SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")


def _bind_readonly(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC, None)
    # the flags the mount has must be kept (in a user namespace they are locked)
    have = os.statvfs(target).f_flag
    kept = sum(ms for st, ms in ((os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC), (os.ST_NOATIME, 0x400),
                                 (os.ST_NODIRATIME, 0x800), (os.ST_RELATIME, 0x200000)) if have & st)
    _mount("none", target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | kept, None)


def mount_proc(target: str) -> bool:
    """A /proc of the caller's PID namespace where a process sees only its own uid's
    processes. Inside a user namespace it needs a PID namespace of that user namespace:
    then the template (pid 1 of one) mounts it."""
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    return _try(_mount, "proc", target, "proc", flags, "hidepid=invisible") or _try(_mount, "proc", target, "proc", flags, "hidepid=2")


def enter_minimal_root(keep: list[str], new_root: str = "/dev/shm/.root") -> list[str]:
    """chroot into a fresh tmpfs holding only the system directories and the interpreter's
    paths (``keep``), read-only; empty /tmp, /var/tmp, /dev/shm and /run; a few devices; and
    a /proc of our PID namespace where a process sees only its own uid's processes. The
    project tree, the data files, home directories and other processes are not there.
    Needs our own mount namespace; returns the private tmpfs directories."""
    os.makedirs(new_root, exist_ok=True)
    _mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    private = ["/tmp", "/var/tmp", "/dev/shm", "/run"]
    for directory in private:
        os.makedirs(new_root + directory, exist_ok=True)
        _mount("tmpfs", new_root + directory, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=512m")
    for path in [d for d in SYSTEM_DIRS if os.path.exists(d)] + keep:
        real = os.path.realpath(path)
        if os.path.islink(path) and os.path.dirname(path) == "/":  # /lib -> usr/lib: keep the link
            os.symlink(os.readlink(path), new_root + path)
            continue
        _bind_readonly(real, new_root + real)
    for dev in DEVICES:
        if os.path.exists(f"/dev/{dev}"):
            target = f"{new_root}/dev/{dev}"
            open(target, "a").close()
            _mount(f"/dev/{dev}", target, None, MS_BIND, None)
    os.makedirs(new_root + "/proc", exist_ok=True)
    mount_proc(new_root + "/proc")
    os.chroot(new_root)
    os.chdir("/")
    return private
