"""`stepcoder data build-apps-plus`: the APPS -> APPS+ cleaning pipeline."""

from __future__ import annotations

import json

import pytest

from stepcoder.cli import main
from stepcoder.data.build_apps_plus import BuildConfig, build_apps_plus, standardise_stdout
from stepcoder.problems import Test, load_problems
from stepcoder.problems.records import read_records

pytest.importorskip("stepcoder.sandbox.pool", reason="the sandbox runs the solutions")


def apps_record(pid, solutions, io, starter=""):
    return {"problem_id": pid, "question": f"question {pid}", "solutions": json.dumps(solutions),
            "input_output": io if isinstance(io, str) else json.dumps(io), "starter_code": starter,
            "difficulty": "introductory", "url": f"https://example.org/{pid}"}


ECHO_SUM = {"inputs": ["1 2\n", "5 -5\n"], "outputs": ["3 \n\n", "0"]}
RIGHT = "a, b = map(int, input().split())\nif a + b >= 0:\n    print(a + b)\nelse:\n    print(-1)\n"
WRONG = "a, b = map(int, input().split())\nprint(a - b)\n"
SYNTHETIC = [
    apps_record(10, [WRONG, RIGHT], ECHO_SUM),                      # kept, second solution canonical
    apps_record(11, [RIGHT], ""),                                   # no tests
    apps_record(12, [], ECHO_SUM),                                  # no solutions
    apps_record(13, [WRONG, "print(3)\n"], ECHO_SUM),               # only failing solutions
    apps_record(14, [RIGHT], "{\"inputs\": ["),                     # malformed input_output
    # Codewars-style wrapped outputs: the guess (unwrap) is right
    apps_record(15, ["def inc(n):\n    return n + 1\n"], {"fn_name": "inc", "inputs": [[1], [2]], "outputs": [[2], [3]]},
                "def inc(n):\n"),
    # outputs look wrapped but the function really returns a one-element list: the other reading wins
    apps_record(16, ["def box(n):\n    return [n]\n"], {"fn_name": "box", "inputs": [[1], [2]], "outputs": [[1], [2]]},
                "def box(n):\n"),
]


def test_standardise_stdout():
    assert standardise_stdout("3 \n\n") == "3\n"
    assert standardise_stdout("a\r\nb  \r\n") == "a\nb\n"
    assert standardise_stdout("0") == "0\n"
    assert standardise_stdout("") == ""


def test_max_solutions_must_be_positive():
    with pytest.raises(ValueError, match="max_solutions"):
        BuildConfig(max_solutions=0)


def test_synthetic_build_drops_each_reason_and_picks_first_passing(tmp_path):
    src = tmp_path / "apps.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in SYNTHETIC))
    out = tmp_path / "apps_plus.jsonl"
    assert main(["data", "build-apps-plus", str(src), str(out), "--workers", "1"]) == 0
    summary = json.loads((tmp_path / "apps_plus.jsonl.summary.json").read_text())
    assert summary["records"] == 7 and summary["kept"] == 3
    assert summary["dropped"] == {"malformed": 1, "no_tests": 1, "no_solutions": 1, "no_passing_solution": 1}
    assert "record 4, field 'input_output'" in summary["malformed_examples"][0]
    problems = {p.id: p for p in load_problems(out)}
    assert sorted(problems) == ["10", "15", "16"]
    kept = problems["10"]
    assert kept.solution == RIGHT and kept.meta["solution_index"] == 1
    assert kept.tests == [Test(kind="stdio", stdin="1 2\n", stdout="3\n"), Test(kind="stdio", stdin="5 -5\n", stdout="0\n")]
    # blocks of the canonical solution, in the APPS+ scope form [kind, start, end]
    assert kept.meta["blocks"] == [["If Statement Body", 2, 5]]
    assert [t.expected for t in problems["15"].tests] == [2, 3]
    assert [t.expected for t in problems["16"].tests] == [[1], [2]]
    # 4 problems reach the sandbox: 10 runs 2 solutions, 13 two, 15 one, 16 one per reading
    assert summary["programs_run"] == 2 + 2 + 1 + 2


def test_real_apps_records(apps_hub):
    records = read_records(apps_hub)
    problems, summary = build_apps_plus(records, str(apps_hub), BuildConfig(max_solutions=2, workers=1))
    assert summary.records == 5 and summary.kept == len(problems)
    assert summary.kept + sum(summary.dropped.values()) == 5
    kept = {p.id: p for p in problems}
    # the three stdin problems and the Codewars one pass with their first solutions
    assert {"1", "111", "2287", "4184"} <= set(kept)
    for p in problems:
        rec = next(r for r in records if str(r["problem_id"]) == p.id)
        assert p.solution == json.loads(rec["solutions"])[p.meta["solution_index"]]
        assert p.meta["blocks"] and all(len(b) == 3 for b in p.meta["blocks"])
    assert [t.expected for t in kept["4184"].tests][:3] == [False, True, True]


def test_cli_source_errors(tmp_path, capsys):
    out = str(tmp_path / "o.jsonl")
    assert main(["data", "build-apps-plus", out]) == 2  # neither a file nor --hub
    assert "either APPS_FILE or --hub" in capsys.readouterr().err
    try:
        import datasets  # noqa: F401
    except ImportError:
        assert main(["data", "build-apps-plus", out, "--hub", "codeparrot/apps"]) == 2
        assert "needs the `datasets` package" in capsys.readouterr().err
