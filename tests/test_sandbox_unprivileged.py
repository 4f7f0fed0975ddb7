"""The hostile suites again, as an unprivileged user (uid 65534): there the sandbox enters a
user namespace of its own and keeps every protection but the separate uid.

Runs where the tests run as root (CI, containers) and `unshare`/`setpriv` exist. An
interpreter under a private directory (pyenv under /root, mode 700) is exposed to that user
in a private mount namespace, its directory read-only and nothing else of /root.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from stepcoder.sandbox.isolation import _blocked_paths, interpreter_paths

ROOT = Path(__file__).resolve().parents[1]
SUITES = ["tests/test_sandbox_attacks.py", "tests/test_sandbox_hostile.py", "tests/test_sandbox_budget.py"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv")),
    reason="needs root to switch to an unprivileged user, and util-linux's unshare and setpriv")


def _expose_interpreter() -> str:
    """Shell commands that cover each private ancestor of the interpreter with an empty
    tmpfs and bind the interpreter's directories back, read-only."""
    steps = ["mount --make-rprivate /"]
    for k, (ancestor, paths) in enumerate(_blocked_paths(interpreter_paths()).items()):
        for i, path in enumerate(paths):
            stage = f"/dev/shm/.stage-{k}-{i}"
            steps += [f"mkdir -p {stage}", f"mount --bind -o ro {shlex.quote(path)} {stage}"]
        steps.append(f"mount -t tmpfs -o mode=755 tmpfs {shlex.quote(ancestor)}")
        for i, path in enumerate(paths):
            stage = f"/dev/shm/.stage-{k}-{i}"
            steps += [f"mkdir -p {shlex.quote(path)}", f"mount --move {stage} {shlex.quote(path)}"]
    return " && ".join(steps)


def test_hostile_suites_hold_as_an_unprivileged_user() -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="stepcoder-unprivileged-"))  # pytest's own is root's, mode 700
    os.chmod(tmp_path, 0o777)
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "t"),
                  "-m", "not slow", *SUITES]
    inner = (f"{_expose_interpreter()} && cd {shlex.quote(str(ROOT))} && exec setpriv --reuid 65534 --regid 65534 "
             f"--clear-groups env HOME={shlex.quote(str(tmp_path))} PYTHONDONTWRITEBYTECODE=1 {shlex.join(pytest_cmd)}")
    try:
        out = subprocess.run(["unshare", "-m", "sh", "-c", inner], capture_output=True, text=True, timeout=900)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)
    tail = out.stdout[-3000:] + out.stderr[-2000:]
    assert out.returncode == 0, tail
    assert " passed" in out.stdout and "skipped" not in out.stdout.splitlines()[-1], tail
