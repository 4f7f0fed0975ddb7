"""Executed lines agree with coverage.py's line coverage on APPS+ canonical solutions."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path


from stepcoder.problems import load_problems
from stepcoder.sandbox import SandboxConfig, run_batch

DRIVER = """\
import sys
from stepcoder.sandbox.config import APPS_PRELUDE
ns = {"__name__": "__main__"}
exec(APPS_PRELUDE, ns)
path = sys.argv[1]
exec(compile(open(path).read(), path, "exec"), ns)
if sys.argv[2]:
    ns[sys.argv[2]]()
"""


def coverage_py_lines(tmp: Path, program: str, entry: str | None, stdin: str) -> frozenset[int]:
    prog, driver, data = tmp / "prog.py", tmp / "driver.py", tmp / "cov.json"
    prog.write_text(program)
    driver.write_text(DRIVER)
    env_cmd = [sys.executable, "-m", "coverage"]
    subprocess.run(env_cmd + ["run", f"--data-file={tmp / '.cov'}", f"--include={prog}", str(driver), str(prog), entry or ""],
                   input=stdin, text=True, capture_output=True, check=True, timeout=60, cwd=tmp)
    subprocess.run(env_cmd + ["json", f"--data-file={tmp / '.cov'}", "-o", str(data)], capture_output=True, check=True, cwd=tmp)
    files = json.loads(data.read_text())["files"]
    return frozenset(next(iter(files.values()))["executed_lines"])


def test_lines_match_coverage_py(apps_plus_valid, tmp_path: Path) -> None:
    stdio = [p for p in load_problems(apps_plus_valid) if p.stdio_entry][::32]  # 10 problems
    one_test = [dataclasses.replace(p, tests=p.tests[:1]) for p in stdio]
    results = run_batch([(p, p.solution) for p in one_test], SandboxConfig(workers=2))
    for problem, result in zip(one_test, results):
        assert result.passed, problem.id
        expected = coverage_py_lines(tmp_path, problem.solution, problem.stdio_entry, problem.tests[0].stdin)
        assert result.executed_lines == expected, problem.id
