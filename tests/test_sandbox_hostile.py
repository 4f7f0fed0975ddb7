"""Hostile programs are contained: right verdict, nothing left behind, parent unharmed,
and the next program runs normally."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from stepcoder.problems.types import Problem, Test
from stepcoder.sandbox import Sandbox, SandboxConfig, Verdict
from stepcoder.sandbox.isolation import children_of

STDIO = Problem(id="echo", prompt="", solution=None, tests=[Test("stdio", stdin="7\n", stdout="7\n")])
CALL = Problem(id="call", prompt="", solution=None, fn_name="f", tests=[Test("call", args=(2,), expected=4)])
ASSERT = Problem(id="assert", prompt="", solution=None, tests=[Test("assert", code="assert f(2) == 4")])
GOOD = (STDIO, "print(input())\n")
SECRET = "stepcoder-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def sandbox():
    os.environ["STEPCODER_TEST_SECRET"] = SECRET  # must not reach any test process
    try:
        with Sandbox(SandboxConfig(workers=1, timeout_s=1.0, wall_factor=2.0, memory_mb=256,
                                   max_output_bytes=10_000, coverage=False)) as sb:
            yield sb
    finally:
        del os.environ["STEPCODER_TEST_SECRET"]


def run_contained(sandbox: Sandbox, problem: Problem, program: str) -> object:
    """Run a hostile program, then check that nothing survived it and the pool still works."""
    result = sandbox.run(problem, program)
    for pid in sandbox.worker_pids:
        # below a worker there are its template and its judge, both childless between programs
        kids = children_of(pid)
        assert len(kids) <= 2 and all(children_of(k) == [] for k in kids), "a process outlived its program"
    assert sandbox.run(*GOOD).verdict is Verdict.PASS
    return result


def test_infinite_loop(sandbox) -> None:
    assert run_contained(sandbox, STDIO, "while True:\n    pass\n").verdict is Verdict.TIMEOUT


def test_sleep_hits_wall_clock(sandbox) -> None:
    result = run_contained(sandbox, STDIO, "import time\ntime.sleep(60)\n")
    assert result.verdict is Verdict.TIMEOUT and "wall" in result.error_message


def test_timer_signal_ignored_and_sigterm_ignored(sandbox) -> None:
    program = ("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
               "signal.signal(signal.SIGPROF, signal.SIG_IGN)\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
               "while True:\n    pass\n")
    assert run_contained(sandbox, STDIO, program).verdict is Verdict.TIMEOUT


def test_bare_except_cannot_swallow_timeout(sandbox) -> None:
    program = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass\n"
    assert run_contained(sandbox, STDIO, program).verdict is Verdict.TIMEOUT


def test_fork_bomb(sandbox) -> None:
    program = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    assert run_contained(sandbox, STDIO, program).verdict in (Verdict.TIMEOUT, Verdict.RUNTIME_ERROR)


def test_memory_bomb(sandbox) -> None:
    assert run_contained(sandbox, STDIO, "x = bytearray(10 ** 10)\n").verdict is Verdict.MEMORY_LIMIT
    program = "chunks = []\nwhile True:\n    chunks.append(bytearray(10 ** 8))\n"
    assert run_contained(sandbox, STDIO, program).verdict is Verdict.MEMORY_LIMIT


def test_huge_output(sandbox) -> None:
    result = run_contained(sandbox, STDIO, "while True:\n    print('x' * 1000)\n")
    assert result.verdict is Verdict.RUNTIME_ERROR and result.error_type == "OutputLimitExceeded"


def test_deep_recursion(sandbox) -> None:
    result = run_contained(sandbox, STDIO, "def f(n):\n    return f(n + 1)\nf(0)\n")
    assert (result.verdict, result.error_type) == (Verdict.RUNTIME_ERROR, "RecursionError")
    # Python 3.11 keeps Python frames off the C stack: a huge limit ends in memory or time
    program = "import sys\nsys.setrecursionlimit(10 ** 7)\ndef f(n):\n    return f(n + 1)\nf(0)\n"
    assert run_contained(sandbox, STDIO, program).verdict in (Verdict.RUNTIME_ERROR, Verdict.MEMORY_LIMIT, Verdict.TIMEOUT)


@pytest.mark.parametrize("program", [
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint(input())\n",
    "import os, signal\nos.killpg(os.getpgid(os.getppid()), signal.SIGKILL)\nprint(input())\n",
    "import os, signal\nos.kill(-1, signal.SIGKILL)\n",
])
def test_killing_parents(sandbox, program: str) -> None:
    run_contained(sandbox, STDIO, program)  # any verdict, but the pool survives


def test_escaped_session_child_is_killed(sandbox) -> None:
    program = ("import subprocess, sys\n"
               "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n"
               "import os\nif os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(60)\n"
               "print(input())\n")
    assert run_contained(sandbox, STDIO, program).verdict is Verdict.PASS


@pytest.mark.parametrize("program", [
    "import sys\nsys.exit(0)\ndef f(x):\n    return 0\n",
    "import os\nos._exit(0)\n",
    "def f(x):\n    import os\n    os._exit(0)\n",
])
def test_exit_before_asserts_is_not_a_pass(sandbox, program: str) -> None:
    assert run_contained(sandbox, ASSERT, program).verdict is Verdict.RUNTIME_ERROR


LIAR = "class Liar:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n        return False\n"


@pytest.mark.parametrize("problem, program", [
    (CALL, LIAR + "def f(x):\n    return Liar()\n"),
    (CALL, "class S(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return S(0)\n"),
    (CALL, LIAR + "def f(x):\n    return [Liar()]\n"),
    (ASSERT, LIAR + "def f(x):\n    return Liar()\n"),
])
def test_lying_equality_does_not_pass(sandbox, problem: Problem, program: str) -> None:
    assert run_contained(sandbox, problem, program).verdict is Verdict.WRONG_ANSWER


def test_files_outside_workdir(sandbox, tmp_path: Path) -> None:
    targets = [tmp_path / "escape.txt", Path(__file__).with_name(f"escape-{uuid.uuid4().hex}.txt")]
    program = "".join(f"try:\n    open({str(t)!r}, 'w').write('x')\nexcept OSError:\n    pass\n" for t in targets)
    program += "open('inside.txt', 'w').write('ok')\nprint(input())\n"
    result = run_contained(sandbox, STDIO, program)
    assert result.verdict is Verdict.PASS  # writing in its own directory works
    assert not any(t.exists() for t in targets)


def test_environment_is_clean(sandbox) -> None:
    program = ("import os, glob\nparts = [repr(dict(os.environ))]\n"
               "for p in glob.glob('/proc/*/environ'):\n    try:\n        parts.append(open(p, 'rb').read().decode('latin-1'))\n"
               "    except OSError:\n        pass\nprint('\\n'.join(parts))\n")
    result = sandbox.run(STDIO, program)
    assert result.verdict is Verdict.WRONG_ANSWER
    assert SECRET not in result.tests[0].error_message and "STEPCODER_TEST_SECRET" not in result.tests[0].error_message


def test_no_loopback_network(sandbox) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    program = ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', %d), timeout=2)\n    print('connected')\n"
               "except OSError:\n    print(input())\n" % port)
    try:
        result = run_contained(sandbox, STDIO, program)
    finally:
        server.close()
    if not result.isolation["network_namespace"]:
        pytest.skip("no network namespace here (not root)")
    assert result.verdict is Verdict.PASS


def test_closing_stdout(sandbox) -> None:
    program = "import os, sys\nsys.stdout.close()\nos.close(1)\nos.close(3)\n"
    assert run_contained(sandbox, STDIO, program).verdict in (Verdict.WRONG_ANSWER, Verdict.RUNTIME_ERROR)
