"""CCCS (Algorithm 1): stages, prefixes, rho updates, state round trip, and the APPS+ check
that prefix + rest is the canonical solution and still passes the sandbox."""

from __future__ import annotations

import pytest

from stepcoder.curriculum.cccs import Curriculum, CurriculumConfig, num_stages
from stepcoder.problems.types import Problem

HEAD = "x = 0\n"  # 6 characters
IF_LINE = "if x: x = 1\n"  # 12 characters


def _program(e: int) -> str:
    """A solution with E = e split points: p_j (1-based) starts at 6 + 12 * (j - 1)."""
    return HEAD + IF_LINE * e


def _problem(pid: str, solution: str | None) -> Problem:
    return Problem(id=pid, prompt="task", solution=solution, tests=[])


def _p(j: int) -> int:
    return len(HEAD) + len(IF_LINE) * (j - 1)


def _stage_prefixes(e: int, config: CurriculumConfig | None = None) -> list[tuple[int, str]]:
    """(stage, prefix) from the start until stage 0, forcing one stage down each time."""
    config = config or CurriculumConfig(alpha=1.0, rho_threshold=0.5)  # one pass = one stage down
    cur = Curriculum([_problem("p", _program(e))], config)
    seen = [(cur.stage("p"), cur.prefix_for("p"))]
    while cur.stage("p") > 0:
        cur.update("p", passed=True)
        seen.append((cur.stage("p"), cur.prefix_for("p")))
    return seen


def test_num_stages():
    # K = ceil(sqrt(E)), s = ceil(E / K)
    assert num_stages(0) == (0, 0)
    assert num_stages(1) == (1, 1)
    assert num_stages(2) == (2, 1)
    assert num_stages(4) == (2, 2)
    assert num_stages(9) == (3, 3)
    assert num_stages(10) == (4, 3)
    assert num_stages(17) == (5, 4)


@pytest.mark.parametrize(
    "e, expected",
    [
        (0, [(0, "")]),  # no split point: always plain generation
        (1, [(0, "")]),  # K = 1: the start stage K - 1 is already 0
        (2, [(1, _program(2)[: _p(1)]), (0, "")]),  # K = 2, s = 1: p_{1*1}
        (4, [(1, _program(4)[: _p(2)]), (0, "")]),  # K = 2, s = 2: p_{2*1}
        (9, [(2, _program(9)[: _p(6)]), (1, _program(9)[: _p(3)]), (0, "")]),  # K = 3, s = 3
        (10, [(3, _program(10)[: _p(9)]), (2, _program(10)[: _p(6)]), (1, _program(10)[: _p(3)]), (0, "")]),
    ],
)
def test_stage_and_prefix_sequence(e, expected):
    assert _stage_prefixes(e) == expected


def test_prefix_of_stage_is_whole_lines():
    assert _program(10)[: _p(9)] == HEAD + IF_LINE * 8


def test_rho_updates_and_stage_move():
    cur = Curriculum([_problem("p", _program(9))], CurriculumConfig(alpha=0.1, rho_threshold=0.5))
    assert cur.stage("p") == 2
    cur.update("p", True)
    assert cur.rho("p") == pytest.approx(0.1)
    cur.update("p", False)
    assert cur.rho("p") == pytest.approx(0.9 * 0.1)
    cur.update("p", True)
    assert cur.rho("p") == pytest.approx(0.1 + 0.9 * (0.9 * 0.1))
    assert cur.stage("p") == 2


def test_seven_passes_move_one_stage_with_defaults():
    # alpha = 0.1: after n passes from 0, rho = 1 - 0.9**n; 0.9**6 = 0.531 (rho 0.469 <= 0.5),
    # 0.9**7 = 0.478 (rho 0.522 > 0.5): the 7th pass moves the stage and resets rho.
    cur = Curriculum([_problem("p", _program(9))])
    moved = [cur.update("p", True) for _ in range(7)]
    assert moved == [False] * 6 + [True]
    assert cur.stage("p") == 1 and cur.rho("p") == 0.0
    for _ in range(7):
        cur.update("p", True)
    assert cur.stage("p") == 0 and cur.prefix_for("p") == ""
    # At stage 0 the problem stays there.
    assert [cur.update("p", True) for _ in range(7)][-1] is False
    assert cur.stage("p") == 0


def test_failures_never_move():
    cur = Curriculum([_problem("p", _program(4))], CurriculumConfig(alpha=0.5, rho_threshold=0.3))
    for _ in range(20):
        cur.update("p", False)
    assert cur.stage("p") == 1 and cur.rho("p") == 0.0


def test_start_stage_and_disabled():
    problems = [_problem("p", _program(10))]
    assert Curriculum(problems, CurriculumConfig(start_stage=0)).prefix_for("p") == ""
    assert Curriculum(problems, CurriculumConfig(start_stage=2)).stage("p") == 2
    assert Curriculum(problems, CurriculumConfig(start_stage=99)).stage("p") == 3
    off = Curriculum(problems, CurriculumConfig(enabled=False))
    assert off.prefix_for("p") == "" and off.update("p", True) is False and off.rho("p") == 0.0


def test_problems_without_solution_or_unparsable_are_plain():
    cur = Curriculum([_problem("none", None), _problem("bad", "if x\n    y\n" * 3)])
    assert cur.prefix_for("none") == "" and cur.num_stages("none") == 0
    assert cur.prefix_for("bad") == "" and cur.num_stages("bad") == 0


def test_config_validation():
    with pytest.raises(ValueError, match="alpha"):
        CurriculumConfig(alpha=0.0)
    with pytest.raises(ValueError, match="rho_threshold"):
        CurriculumConfig(rho_threshold=1.0)
    with pytest.raises(ValueError, match="split_kinds"):
        CurriculumConfig(split_kinds=("iff",))
    with pytest.raises(ValueError, match="start_stage"):
        CurriculumConfig(start_stage="first")


def test_summary_counts_stages_and_prefix_fraction():
    problems = [_problem("a", _program(9)), _problem("b", _program(2)), _problem("c", _program(0))]
    summary = Curriculum(problems).summary()
    assert summary["num_problems"] == 3
    assert summary["stage_counts"] == {"0": 1, "1": 1, "2": 1}
    expected = (_p(6) / len(_program(9)) + _p(1) / len(_program(2)) + 0.0) / 3
    assert summary["mean_prefix_fraction"] == pytest.approx(expected)
    assert summary["plain_fraction"] == pytest.approx(1 / 3)


def test_state_round_trip(tmp_path):
    problems = [_problem("a", _program(9)), _problem("b", _program(4))]
    cur = Curriculum(problems)
    for _ in range(7):
        cur.update("a", True)
    cur.update("b", True)
    path = tmp_path / "curriculum.json"
    cur.save(path)
    fresh = Curriculum(problems)
    fresh.load(path)
    assert fresh.state_dict() == cur.state_dict()
    assert (fresh.stage("a"), fresh.rho("a"), fresh.stage("b")) == (1, 0.0, 1)
    assert fresh.rho("b") == pytest.approx(0.1)
    with pytest.raises(ValueError, match="does not match"):
        Curriculum(problems[:1]).load(path)
    Curriculum(problems[:1]).load(path, strict=False)  # a subset is fine when asked for
    fresh.reset()
    assert fresh.stage("a") == 2 and fresh.rho("b") == 0.0


def _apps_plus_programs(path) -> tuple[list, list[tuple]]:
    from stepcoder.curriculum.blocks import split_points
    from stepcoder.problems import load_problems

    problems = load_problems(path)
    pairs = []
    for problem in problems:
        for point in split_points(problem.solution):
            prefix = problem.solution[: point.offset]
            rest = problem.solution[point.offset :]
            pairs.append((problem, prefix + rest))
    return problems, pairs


def test_prefix_plus_rest_is_the_solution_on_apps_plus(apps_plus_valid):
    # prefix + rest is the canonical solution, character for character: that every canonical
    # solution passes the sandbox is test_sandbox_datasets' (running them again here was
    # the suite's most expensive duplicate)
    problems, pairs = _apps_plus_programs(apps_plus_valid)
    assert len(pairs) > len(problems)  # the data has many split points
    assert all(program == problem.solution for problem, program in pairs)
    cur = Curriculum(problems, CurriculumConfig(alpha=1.0))
    for problem in problems:  # every stage's prefix is a prefix of whole lines
        while True:
            prefix = cur.prefix_for(problem)
            assert problem.solution.startswith(prefix) and (prefix == "" or prefix.endswith("\n"))
            if cur.stage(problem) == 0:
                break
            cur.update(problem.id, True)


def test_curriculum_command_writes_json(tmp_path, capsys):
    import json

    from stepcoder.cli import main

    problems = [_problem("a", _program(10)), _problem("b", None), _problem("c", "print(1)\n")]
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(p.to_json()) + "\n" for p in problems))
    out = tmp_path / "view.json"
    assert main(["curriculum", str(path), "--format", "jsonl", "--json", str(out)]) == 0
    view = json.loads(out.read_text())["problems"]
    assert [(e["id"], e["split_lines"], e["stages"]) for e in view] == [
        ("a", list(range(2, 12)), 4), ("b", [], 0), ("c", [], 0),
    ]
    assert view[0]["blocks"][0] == {"kind": "If Statement Body", "start_line": 2, "end_line": 2}
    printed = capsys.readouterr().out
    assert "3 problems; 2 always plain generation" in printed
