"""The hostile suite: programs written to get a PASS they did not earn, read what they must
not, crash the sandbox, reach their neighbours, forge coverage or play with time. Each case
runs the attack and a control program (an honest one, or the harmless half of the attack)
that must still pass, so a case cannot hold by breaking everything.

Cases marked ``root`` need the protections of root mode (namespaces, minimal root, a uid of
each job's own) and are skipped elsewhere; docs/sandbox.md lists which protection holds in
which mode.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from stepcoder.problems.types import Problem, Test
from stepcoder.sandbox import ExecResult, Sandbox, SandboxConfig, Verdict
from stepcoder.sandbox.isolation import children_of, job_uid
from stepcoder.sandbox.tracer import statement_lines

STDIO = Problem(id="stdio", prompt="", solution=None, tests=[Test("stdio", stdin="7\n", stdout="7\n")])
CALL = Problem(id="call", prompt="", solution=None, fn_name="f",
               tests=[Test("call", args=(2,), expected=4), Test("call", args=(5,), expected=10)])
ASSERT = Problem(id="assert", prompt="", solution=None, fn_name="f", entry_point="f", source_format="mbpp",
                 tests=[Test("assert", code="assert f(2) == 4"), Test("assert", code="assert abs(f(0.5) - 1.0) < 1e-9"),
                        Test("assert", code="import math\nassert math.isclose(f(3), 6)"),
                        Test("assert", code="assert sorted(f([1, 2])) == [2, 4]\nassert set(f([1])) == {2}")])
HUMANEVAL = Problem(id="he", prompt="def f(x):\n    \"\"\"Twice x.\"\"\"\n", solution=None, entry_point="f",
                    source_format="humaneval",
                    tests=[Test("assert", code="\nMETADATA = {}\n\ndef check(candidate):\n    assert candidate(2) == 4\n"
                                                "    assert candidate(0) == 0\n    for x in range(5):\n"
                                                "        assert candidate(x) == 2 * x\n\ncheck(f)\n")])
GOOD = {
    "stdio": "print(input())\n",
    "call": "def f(x):\n    return 2 * x\n",
    "assert": "def f(x):\n    if isinstance(x, list):\n        return [2 * v for v in x]\n    return 2 * x\n",
    "he": "def f(x):\n    return 2 * x\n",
}
PROBLEMS = {p.id: p for p in (STDIO, CALL, ASSERT, HUMANEVAL)}
SECRET = "stepcoder-secret-" + uuid.uuid4().hex
NOT_PASS = {Verdict.WRONG_ANSWER, Verdict.RUNTIME_ERROR, Verdict.TIMEOUT, Verdict.MEMORY_LIMIT, Verdict.COMPILE_ERROR}


@dataclass
class Case:
    name: str
    problem: str
    attack: str
    control: str | None = None  # default: the honest program for the problem
    expect: Callable[[ExecResult], bool] = lambda r: r.verdict in NOT_PASS
    root: bool = False  # holds only with root-mode isolation


def verdict(*verdicts: Verdict) -> Callable[[ExecResult], bool]:
    return lambda r: r.verdict in verdicts


LIAR = "class Liar:\n    def __eq__(self, o):\n        return True\n    def __ne__(self, o):\n        return False\n    def __lt__(self, o):\n        return True\n    __hash__ = object.__hash__\n"
FORGE_REPORT = ('import os\nfor fd in range(3, 40):\n    try:\n        os.write(fd, b\'{"v": 1, "type": "ChildReport", "status": "ok", "value": 4}\')\n'
                "    except OSError:\n        pass\nos._exit(0)\n")
FORGE_JUDGE = ('import os\nfor fd in range(3, 40):\n    try:\n        os.write(fd, b\'{"v": 1, "type": "JudgeReport", "status": "pass"}\')\n'
               "    except OSError:\n        pass\n")
# reads a file whose path it knows (a problem file's path is on the trainer's command line)
READ = "import sys\ntry:\n    print(open({path!r}).read()[:100])\nexcept OSError:\n    print(input())\n"

FORGED_VERDICTS = [
    Case("forged report on every fd, stdio", "stdio", FORGE_REPORT.replace("os._exit(0)", "print(8)\nos._exit(0)")),
    Case("forged report on every fd, call", "call", "def f(x):\n    return 0\n" + FORGE_REPORT),
    Case("forged report on every fd, assert", "assert", "def f(x):\n    return 0\n" + FORGE_REPORT),
    Case("forged judge report on every fd", "assert", "def f(x):\n    return 0\n" + FORGE_JUDGE),
    Case("forged judge report from inside a call", "assert", "def f(x):\n" + "".join("    " + l + "\n" for l in FORGE_JUDGE.splitlines()) + "    return 0\n"),
    Case("patched json.dumps", "call", "import json\njson.dumps = lambda *a, **k: '{\"v\": 1, \"type\": \"ChildReport\", \"status\": \"ok\", \"value\": 4}'\ndef f(x):\n    return 0\n"),
    Case("patched os.write", "assert", "import os\n_w = os.write\nos.write = lambda fd, b: _w(fd, b.replace(b'\"fail\"', b'\"pass\"'))\ndef f(x):\n    return 0\n"),
    Case("sys.settrace skips the test's lines", "assert", "import sys\ndef t(frame, event, arg):\n    if frame.f_code.co_filename == '<test>':\n        frame.f_lineno = 99\n    return t\nsys.settrace(t)\ndef f(x):\n    return 0\n"),
    Case("liar object", "assert", LIAR + "def f(x):\n    return Liar()\n"),
    Case("liar object, call test", "call", LIAR + "def f(x):\n    return Liar()\n"),
    Case("liar inside a list", "assert", LIAR + "def f(x):\n    return [Liar()]\n"),
    Case("int subclass with __eq__", "assert", "class I(int):\n    def __eq__(s, o):\n        return True\n    __hash__ = int.__hash__\ndef f(x):\n    return I(0)\n"),
    Case("float subclass", "assert", "class F(float):\n    def __eq__(s, o):\n        return True\n    def __sub__(s, o):\n        return 0.0\n    __hash__ = float.__hash__\ndef f(x):\n    return F(0)\n"),
    Case("list subclass", "assert", "class L(list):\n    def __eq__(s, o):\n        return True\ndef f(x):\n    return L()\n"),
    Case("str subclass, call test", "call", "class S(str):\n    def __eq__(s, o):\n        return True\ndef f(x):\n    return S('')\n"),
    Case("callable object as the function", "assert", LIAR + "class C:\n    def __call__(self, x):\n        return Liar()\nf = C()\n"),
    Case("exec'd class", "assert", "exec('class L:\\n    def __eq__(s, o):\\n        return True\\n    def __lt__(s, o):\\n        return True\\n    __hash__ = object.__hash__\\n')\ndef f(x):\n    return L()\n"),
    Case("unittest.mock.ANY", "assert", "from unittest import mock\ndef f(x):\n    return mock.ANY\n"),
    Case("shadowed abs", "assert", GOOD["assert"].replace("2 * x\n", "0\n", 1).replace("return 2 * x", "return 0") + "def abs(x):\n    return 0\n"),
    Case("patched math.isclose", "assert", "import math\nmath.isclose = lambda *a, **k: True\ndef f(x):\n    return 0\n"),
    Case("patched builtins sorted/set/abs", "assert", "import builtins\nbuiltins.sorted = lambda x: [2, 4]\nbuiltins.set = lambda x: {2}\nbuiltins.abs = lambda x: 0\ndef f(x):\n    return x\n"),
    Case("expected values from gc", "he", "import gc\ndef f(x):\n    for o in gc.get_objects():\n        if type(o).__name__ == 'function' and o.__name__ == 'check':\n            return 2 * x\n    return -1\n"),
    Case("expected values from frames", "assert", "import sys\ndef f(x):\n    fr = sys._getframe(1)\n    while fr:\n        if '<test>' in fr.f_code.co_filename:\n            return 2 * x\n        fr = fr.f_back\n    return -1\n"),
    Case("raises AssertionError itself", "assert", "def f(x):\n    raise AssertionError\n"),
    Case("sys.exit(0) in the call", "assert", "import sys\ndef f(x):\n    sys.exit(0)\n"),
    Case("os._exit(0) at import", "he", "import os\nos._exit(0)\ndef f(x):\n    return 2 * x\n"),
    Case("closes the call channel", "he", "import os\nfor fd in range(3, 40):\n    try:\n        os.close(fd)\n    except OSError:\n        pass\ndef f(x):\n    return 2 * x\n"),
    Case("answers the judge ahead with a constant", "he", "import os, struct, json\nfor v in range(40):\n    m = json.dumps({'v': 1, 'type': 'CallReply', 'status': 'ok', 'value': 4}).encode()\n    try:\n        os.write(5, struct.pack('<I', len(m)) + m)\n    except OSError:\n        pass\ndef f(x):\n    return 4\n"),
    Case("kills its own process at the first call", "he", "import os, signal\ndef f(x):\n    os.kill(os.getpid(), signal.SIGKILL)\n"),
]


def _reads(path: str) -> str:
    return READ.format(path=path)


def data_cases(tmp: Path) -> list[Case]:
    problem_file = tmp / "problems.jsonl"
    problem_file.write_text(f'{{"id": "x", "tests": [{{"stdin": "", "stdout": "{SECRET}"}}]}}\n')
    os.chmod(tmp, 0o755)
    os.chmod(problem_file, 0o644)
    here = str(Path(__file__).resolve())
    return [
        Case("reads the problem file by path", "stdio", _reads(str(problem_file)), expect=lambda r: r.passed, root=True),
        Case("reads the project tree", "stdio", _reads(here), expect=lambda r: r.passed, root=True),
        Case("reads the project's files", "stdio", _reads(str(Path(here).parents[1] / "pyproject.toml")), expect=lambda r: r.passed, root=True),
        Case("reads /root", "stdio", "import os\ntry:\n    print(os.listdir('/root'))\nexcept OSError:\n    print(input())\n",
             expect=lambda r: r.passed or r.verdict is Verdict.WRONG_ANSWER and ".bashrc" not in str(r.tests[0].error_message), root=True),
        Case("walks the file system for the answer", "stdio",
             f"import os\nfor top in ('/tmp', '/var', '/run', '/root', '/home', '/work', '/mnt', '/opt', '/srv', '/dev/shm'):\n"
             f"  for d, ds, fs in os.walk(top):\n    if 'python' in d or 'venv' in d or 'pyenv' in d:\n        ds[:] = []\n        continue\n"
             f"    for n in fs:\n        try:\n            if '{SECRET[:20]}' in open(os.path.join(d, n), errors='ignore').read(1 << 16):\n"
             f"                print(open(os.path.join(d, n)).read())\n        except OSError:\n            pass\nprint(input())\n",
             expect=lambda r: r.passed, root=True),
        Case("reads other processes' command lines", "stdio",
             "import glob\nfor p in glob.glob('/proc/[0-9]*/cmdline'):\n    try:\n        c = open(p).read()\n"
             "        if 'pytest' in c or 'problems.jsonl' in c:\n            print(c)\n    except OSError:\n        pass\nprint(input())\n",
             expect=lambda r: r.passed, root=True),
        Case("sees only its own processes", "stdio",
             "import os\nmine = [p for p in os.listdir('/proc') if p.isdigit()]\nprint(input() if len(mine) <= 2 else mine)\n",
             expect=lambda r: r.passed, root=True),
        Case("reads the environment of others", "stdio",
             "import glob\nfor p in glob.glob('/proc/*/environ'):\n    try:\n        print(open(p, 'rb').read().decode('latin-1'))\n"
             "    except OSError:\n        pass\nprint(input())\n",
             expect=lambda r: r.passed or SECRET not in str(r.tests[0].error_message)),
        Case("reads the worker's memory", "stdio",
             "import glob\nfor p in glob.glob('/proc/*/mem'):\n    try:\n        open(p, 'rb').read(1)\n        print('read', p)\n"
             "    except OSError:\n        pass\nprint(input())\n",
             expect=lambda r: r.passed or "/proc/self" in str(r.tests[0].error_message), root=True),
        Case("other tests' input on its descriptors", "call",
             "import os\ndef f(x):\n    seen = sorted(int(n) for n in os.listdir('/proc/self/fd'))\n    return 2 * x if seen[-1] <= 6 else seen\n",
             expect=lambda r: r.passed),
        Case("ptrace and process_vm_readv", "stdio",
             "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nr = libc.ptrace(16, 1, 0, 0)\n"
             "print(input() if r == -1 else 'attached')\n", expect=lambda r: r.passed),
    ]


def _lines_are_real(program: str) -> Callable[[ExecResult], bool]:
    real = statement_lines(program) or frozenset()
    return lambda r: r.executed_lines is not None and r.executed_lines <= real


COVER_ALL = "__stepcoder_lines__.update(range(1, 1000))\nprint(input())\n"
COVER_REPORT = ('import os\nprint(input())\nimport sys\nsys.stdout.flush()\n'
                'os.write(3, b\'{"v": 1, "type": "ChildReport", "status": "ok", "lines": [1, 2, 3, 500, 9999]}\')\nos._exit(0)\n')
CRASHES_AND_COVERAGE = [
    Case("segfault", "stdio", "import ctypes\nctypes.string_at(0)\n", expect=verdict(Verdict.RUNTIME_ERROR)),
    Case("malformed report", "stdio", "import os\nos.write(3, b'{not json')\nos._exit(0)\n", expect=verdict(Verdict.RUNTIME_ERROR)),
    Case("report with lines null", "stdio", 'import os\nprint(input())\nos.write(3, b\'{"v": 1, "type": "ChildReport", "status": "ok", "lines": null}\')\nos._exit(0)\n',
         expect=verdict(Verdict.RUNTIME_ERROR)),
    Case("deeply nested report", "stdio", "import os\nos.write(3, b'[' * 200000)\nos._exit(0)\n", expect=verdict(Verdict.RUNTIME_ERROR)),
    Case("deeply nested return value", "call", "def f(x):\n    v = []\n    for _ in range(100000):\n        v = [v]\n    return v\n",
         expect=verdict(Verdict.WRONG_ANSWER)),
    Case("huge int", "call", "def f(x):\n    return 10 ** 20000\n", expect=verdict(Verdict.WRONG_ANSWER)),
    Case("closes every descriptor", "stdio", "import os\nos.closerange(0, 100)\n"),
    Case("kills its parent", "stdio", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint(input())\n",
         expect=lambda r: True),
    Case("kill(-1)", "stdio", "import os, signal\nos.kill(-1, signal.SIGKILL)\n", expect=lambda r: True),
    Case("fork bomb", "stdio", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"),
    Case("memory bomb", "stdio", "x = bytearray(10 ** 10)\n", expect=verdict(Verdict.MEMORY_LIMIT)),
    Case("output flood", "stdio", "while True:\n    print('x' * 1000)\n", expect=verdict(Verdict.RUNTIME_ERROR)),
    Case("marks every line", "stdio", COVER_ALL, control=COVER_ALL, expect=_lines_are_real(COVER_ALL)),
    Case("forged lines in a forged report", "stdio", COVER_REPORT, control=COVER_REPORT, expect=_lines_are_real(COVER_REPORT)),
    Case("forged lines do not turn a failure into a pass", "call",
         "__stepcoder_lines__.update(range(1, 100))\ndef f(x):\n    return x\n", expect=verdict(Verdict.WRONG_ANSWER)),
]

TIMING = [
    Case("sleeps", "stdio", "import time\ntime.sleep(60)\n", expect=verdict(Verdict.TIMEOUT)),
    Case("ignores SIGPROF and SIGXCPU", "stdio", "import signal\nsignal.signal(signal.SIGPROF, signal.SIG_IGN)\n"
         "signal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n", expect=verdict(Verdict.TIMEOUT)),
    Case("switches off the CPU timer", "stdio", "import signal\nsignal.setitimer(signal.ITIMER_PROF, 0)\nwhile True:\n    pass\n",
         expect=verdict(Verdict.TIMEOUT)),
    Case("swallows the time limit", "stdio", "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass\n",
         expect=verdict(Verdict.TIMEOUT)),
    Case("blocks on a pipe", "stdio", "import os\nr, w = os.pipe()\nos.read(r, 1)\n", expect=verdict(Verdict.TIMEOUT)),
    Case("a call that blocks", "he", "import time\ndef f(x):\n    time.sleep(60)\n", expect=verdict(Verdict.TIMEOUT)),
    Case("a call that loops", "assert", "def f(x):\n    while True:\n        pass\n", expect=verdict(Verdict.TIMEOUT)),
    Case("blocks every test", "call", "import time\ndef f(x):\n    time.sleep(60)\n", expect=verdict(Verdict.TIMEOUT)),
]

# the first program leaves something behind; the second (the attack) looks for it
PLANT = ("import os, ctypes, json\nopen('/tmp/planted', 'w').write('x')\nopen('/dev/shm/planted', 'w').write('x')\n"
         "os.makedirs('/run/lock', exist_ok=True)\nopen('/run/lock/planted', 'w').write('x')\nopen('planted', 'w').write('x')\n"
         "libc = ctypes.CDLL(None, use_errno=True)\nlibc.shmget(424242, 4096, 0o1666)\njson.PLANTED = 1\nos.environ['PLANTED'] = '1'\n"
         "import socket\ns = socket.socket(socket.AF_UNIX)\ns.bind('\\0stepcoder-planted')\nprint(input())\n")
LOOK = {
    "tmp file": "import os\nprint(input() if not os.path.exists('/tmp/planted') else 'found')\n",
    "shm file": "import os\nprint(input() if not os.path.exists('/dev/shm/planted') else 'found')\n",
    "run lock": "import os\nprint(input() if not os.path.exists('/run/lock/planted') else 'found')\n",
    "work dir file": "import os\nprint(input() if not os.path.exists('planted') else 'found')\n",
    "SysV shared memory": "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(input() if libc.shmget(424242, 0, 0) == -1 else 'found')\n",
    "module state": "import json\nprint(input() if not hasattr(json, 'PLANTED') else 'found')\n",
    "environment": "import os\nprint(input() if 'PLANTED' not in os.environ else 'found')\n",
    "abstract socket": "import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('\\0stepcoder-planted')\n    print('found')\nexcept OSError:\n    print(input())\n",
    "previous program's code": "import gc, sys\nfound = 0\nfor o in gc.get_objects():\n    if type(o).__name__ == 'function' and o.__code__.co_filename == '<candidate>' and o.__code__ is not sys._getframe(0).f_code:\n"
                               "        found += 1\nprint(input() if not found else 'found')\n",
    "kernel keyring": "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nk = libc.syscall(248, b'user', b'planted', b'x', 1, -4)\n"
                      "print(input() if k == -1 else 'added')\n",
}
NEIGHBOURS = [Case(f"neighbour: {name}", "stdio", program, expect=lambda r: r.passed,
                   root=name in ("SysV shared memory", "run lock", "shm file", "tmp file", "abstract socket"))
              for name, program in LOOK.items()]

CASES = FORGED_VERDICTS + CRASHES_AND_COVERAGE + TIMING + NEIGHBOURS


@pytest.fixture(scope="module")
def sandbox():
    os.environ["STEPCODER_TEST_SECRET"] = SECRET  # must not reach any test process
    try:
        with Sandbox(SandboxConfig(workers=1, timeout_s=0.5, wall_factor=2.0, memory_mb=256, max_output_bytes=10_000)) as sb:
            yield sb
    finally:
        del os.environ["STEPCODER_TEST_SECRET"]


def _check(sandbox: Sandbox, case: Case) -> None:
    if case.root and not sandbox.isolation.get("minimal_root"):
        pytest.skip("holds with root-mode isolation only (see docs/sandbox.md)")
    problem = PROBLEMS[case.problem]
    if case.name.startswith("neighbour"):
        assert sandbox.run(problem, PLANT).passed
    result = sandbox.run(problem, case.attack)
    assert case.expect(result), (case.name, result.verdict, result.error_type, result.error_message)
    control = sandbox.run(problem, case.control or GOOD[case.problem])
    assert control.passed, (case.name, "control", control)
    for pid in sandbox.worker_pids:  # nothing outlived the programs but the template and the judge
        kids = children_of(pid)
        assert len(kids) <= 2 and all(children_of(k) == [] for k in kids), case.name


def test_the_suite_is_big_enough(tmp_path: Path) -> None:
    assert len(CASES) + len(data_cases(tmp_path)) >= 60


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_attack(sandbox, case: Case) -> None:
    _check(sandbox, case)


@pytest.mark.parametrize("k", range(11))
def test_data_read(sandbox, tmp_path_factory, k: int) -> None:
    tmp = tmp_path_factory.mktemp("data")
    case = data_cases(tmp)[k]
    _check(sandbox, case)


def test_each_job_runs_as_a_uid_of_its_own() -> None:
    """As root, the tests of a worker's k-th program run as ``job_uid(worker pid, k)``: not
    root, not the uid of the worker's previous job, so nothing one job leaves behind belongs
    to the next one. The probe passes only when it runs as the uid it expects."""
    probe = "import os\nprint(input() if os.getuid() == {uid} and os.geteuid() == {uid} else os.getuid())\n"
    with Sandbox(SandboxConfig(workers=1)) as sb:
        if not sb.isolation.get("uid_drop"):  # one uid for every job (docs/sandbox.md): root of
            # the worker's user namespace, or our own uid without namespaces
            one = 0 if sb.isolation.get("user_namespace") else os.getuid()
            assert all(sb.run(STDIO, probe.format(uid=one)).passed for _ in range(2))
            return
        pid = sb.worker_pids[0]
        uids = [job_uid(pid, k) for k in range(4)]
        assert len(set(uids)) == 4 and 0 not in uids and os.getuid() not in uids
        for k in range(3):
            assert sb.run(STDIO, probe.format(uid=uids[k])).passed, k
        # job 3 does not run as job 0's uid: the same probe fails
        stale = sb.run(STDIO, probe.format(uid=uids[0]))
        assert stale.verdict is Verdict.WRONG_ANSWER
