"""`stepcoder check`: end to end on a small native JSONL file, and it starts without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stepcoder.cli import main
from stepcoder.problems import Problem, Test, save_jsonl


def _problems(tmp_path: Path) -> Path:
    problems = [
        Problem(id="p1", prompt="double", solution="print(2 * int(input()))\n", difficulty="easy",
                tests=[Test("stdio", stdin="2\n", stdout="4\n")]),
        Problem(id="p2", prompt="add", solution="def add(a, b):\n    return a + b\n", fn_name="add", difficulty="hard",
                tests=[Test("call", args=(1, 2), expected=3)]),
        Problem(id="p3", prompt="bad", solution="def add(a, b):\n    return a - b\n", fn_name="add", difficulty="hard",
                tests=[Test("call", args=(1, 2), expected=3)]),
    ]
    path = tmp_path / "problems.jsonl"
    save_jsonl(problems, path)
    return path


def test_check_canonical_solutions(tmp_path: Path, capsys) -> None:
    out = tmp_path / "check.json"
    rc = main(["check", str(_problems(tmp_path)), "--json", str(out), "--workers", "2", "--timeout", "2"])
    assert rc == 1  # p3's solution is wrong
    report = json.loads(out.read_text())
    assert report["summary"]["total"] == 3 and report["summary"]["passed"] == 2
    assert report["summary"]["pass_rate"] == 2 / 3
    assert report["summary"]["by_verdict"] == {"PASS": 2, "WRONG_ANSWER": 1}
    assert report["summary"]["tests_judged_by"] == {"parent": 3}
    assert [p["id"] for p in report["problems"]] == ["p1", "p2", "p3"]
    assert report["problems"][0]["executed_lines"] == [1]
    assert "isolation" in report["summary"] and "isolation" not in report["problems"][0]
    assert "2/3 passed" in capsys.readouterr().out


def test_check_given_programs(tmp_path: Path) -> None:
    programs = tmp_path / "programs.jsonl"
    programs.write_text("\n".join(json.dumps(r) for r in [
        {"id": "p3", "program": "def add(a, b):\n    return a + b\n"},
        {"id": "p1", "program": "while True:\n    pass\n"},
    ]))
    out = tmp_path / "check.json"
    rc = main(["check", str(_problems(tmp_path)), "--programs", str(programs), "--json", str(out),
               "--no-coverage", "--timeout", "0.5", "--workers", "1"])
    report = json.loads(out.read_text())
    assert rc == 0 and [p["verdict"] for p in report["problems"]] == ["PASS", "TIMEOUT"]
    assert report["problems"][0]["executed_lines"] is None


def test_check_limit_and_no_torch(tmp_path: Path) -> None:
    path = _problems(tmp_path)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "stepcoder", "check", str(path), "--limit", "1",
                           "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1/1 passed" in proc.stdout
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "torch" not in imported and "transformers" not in imported
