"""The pool: infrastructure failures raise SandboxError or are retried, never judged."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from stepcoder.problems.types import Problem, Test
from stepcoder.sandbox import Sandbox, SandboxConfig, SandboxError, Verdict

STDIO = Problem(id="echo", prompt="", solution=None, tests=[Test("stdio", stdin="7\n", stdout="7\n")])


def test_broken_test_code_is_a_sandbox_error() -> None:
    broken = Problem(id="broken", prompt="", solution=None, tests=[Test("assert", code="assert f(1) ==")])
    with Sandbox(SandboxConfig(workers=1)) as sb:
        with pytest.raises(SandboxError, match="does not compile"):
            sb.run(broken, "def f(x):\n    return x\n")
        assert sb.run(STDIO, "print(input())\n").passed  # the pool still works


def test_worker_killed_once_is_retried() -> None:
    with Sandbox(SandboxConfig(workers=1, timeout_s=0.3, wall_factor=4.0, coverage=False)) as sb:
        victim = sb.worker_pids[0]
        killer = threading.Timer(0.4, os.kill, (victim, signal.SIGKILL))
        killer.start()
        start = time.monotonic()
        result = sb.run(STDIO, "import time\ntime.sleep(10)\n")  # killed mid-run, then run again
        killer.join()
        assert result.verdict is Verdict.TIMEOUT and time.monotonic() - start < 10
        assert sb.worker_pids[0] != victim


def test_fail_fast_stops_at_first_failure() -> None:
    three = Problem(id="three", prompt="", solution=None, tests=[Test("stdio", stdin="1\n", stdout="1\n")] * 3)
    program = "while True:\n    pass\n"
    with Sandbox(SandboxConfig(workers=1, timeout_s=0.3, coverage=False, fail_fast=True)) as sb:
        result = sb.run(three, program)
    assert result.verdict is Verdict.TIMEOUT and len(result.tests) == 1


def test_without_namespaces_escaped_children_are_killed() -> None:
    from stepcoder.sandbox.isolation import children_of

    program = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n"
               "    os._exit(0)\nprint(input())\n")
    with Sandbox(SandboxConfig(workers=1, isolation="none", coverage=False)) as sb:
        result = sb.run(STDIO, program)
        assert result.passed and not result.isolation["pid_namespace"]
        [template] = children_of(sb.worker_pids[0])  # the template, and nothing below it
        assert children_of(template) == []  # the subreaper found the grandchild


def test_package_under_tmp_still_imports_in_the_private_tmp(tmp_path_factory) -> None:
    """A checkout or virtual environment under /tmp (a CI clone) stays importable although
    the workers cover /tmp with their own tmpfs: the interpreter's paths are bound back in."""
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "stepcoder"
    root = Path(tempfile.mkdtemp(prefix="stepcoder-under-tmp-", dir="/tmp"))
    try:
        shutil.copytree(src, root / "src" / "stepcoder", ignore=shutil.ignore_patterns("__pycache__", "assets", "data"))
        script = (
            "import sys; sys.path.insert(0, sys.argv[1])\n"
            "import stepcoder; assert stepcoder.__file__.startswith(sys.argv[1]), stepcoder.__file__\n"
            "from stepcoder.problems.types import Problem, Test\n"
            "from stepcoder.sandbox import run_batch, SandboxConfig\n"
            "p = Problem(id='x', prompt='', solution=None, tests=[Test(kind='stdio', stdin='2\\n', stdout='4\\n')])\n"
            "[r] = run_batch([(p, 'import numpy\\nprint(int(input()) * 2)\\n')], SandboxConfig(workers=1))\n"
            "print(r.verdict.value, r.isolation.get('private_tmp'))\n"
        )
        out = subprocess.run([sys.executable, "-c", script, str(root / "src")], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        verdict, _, private = out.stdout.strip().partition(" ")
        assert verdict == "PASS"
        if os.geteuid() == 0:  # as root the workers cover /tmp; the checkout must have been bound back in
            assert "/tmp" in private
        # the cleanup between programs empties the private /tmp but must not reach the kept checkout
        assert (root / "src" / "stepcoder" / "sandbox" / "worker.py").is_file()
    finally:
        shutil.rmtree(root, ignore_errors=True)
