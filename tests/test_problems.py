"""Loaders: every format on the real files, detection, forcing, malformed records, round trip."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from stepcoder.problems import FORMATS, Problem, ProblemFormatError, Test, detect_format, load_problems, save_jsonl
from stepcoder.problems.apps_plus import decode_top_level


# ---------------------------------------------------------------- real files


@pytest.mark.parametrize(
    "fixture, fmt, count",
    [
        ("apps_plus_valid", "apps-plus", 500),
        ("apps_plus_train", "apps-plus", 16),
        ("apps_hub", "apps", 5),
        ("humaneval_file", "humaneval", 164),
        ("mbpp_file", "mbpp", 974),
        ("mbpp_sanitized_file", "mbpp", 427),
    ],
)
def test_real_files_load_with_detected_format(request, fixture, fmt, count):
    path = request.getfixturevalue(fixture)
    assert detect_format(path) == fmt
    problems = load_problems(path)
    assert len(problems) == count
    assert all(p.source_format == fmt and p.tests for p in problems)
    assert len({p.id for p in problems}) == count


def test_apps_plus_stdio_and_call_split(apps_plus_valid):
    problems = load_problems(apps_plus_valid)
    stdio = [p for p in problems if not p.is_call_based]
    call = [p for p in problems if p.is_call_based]
    # SOURCE.txt of the data: 318 stdin problems, 182 call-based (35 with class Solution).
    assert (len(stdio), len(call)) == (318, 182)
    assert all(p.stdio_entry and p.fn_name is None for p in stdio)
    assert all(p.fn_name and p.stdio_entry is None for p in call)
    assert sum("class Solution" in p.starter_code for p in call) == 35
    first = problems[0]
    assert first.id == "0" and first.stdio_entry == "FsxrN" and len(first.tests) == 3
    assert first.tests[0] == Test(kind="stdio", stdin="4 2\n0101\n", stdout="quailty\n")
    assert first.meta["scope"][0] == ["Function Body", 3, 63]


def test_apps_plus_starter_with_main_block_is_still_stdio(apps_plus_valid):
    # One record's starter code is HackerRank's `def print_formatted():` + an `if __name__` block.
    (p,) = [p for p in load_problems(apps_plus_valid) if p.stdio_entry == "print_formatted"]
    assert p.tests == [Test(kind="stdio", stdin="2", stdout=" 1  1  1  1\n 2  2  2 10")]


def test_apps_plus_quoted_literals_decoded_top_level_only(apps_plus_valid):
    by_name = {p.fn_name: p for p in load_problems(apps_plus_valid) if p.is_call_based}
    # stored as inputs [['"ababccc"']], outputs [[5]]
    assert by_name["maxUniqueSplit"].tests[0].args == ("ababccc",)
    assert by_name["maxUniqueSplit"].tests[0].expected == 5
    # nested strings stay raw: the stored answer 5 is what the raw '"../"' strings give
    logs = by_name["minOperations"].tests[0].args[0]
    assert logs[:3] == ['"d1/"', '"d2/"', '"../"'] and by_name["minOperations"].tests[0].expected == 5
    # a string result: stored [['"invalid string"']]
    assert by_name["even_chars"].tests[0].expected == "invalid string"
    assert by_name["even_chars"].tests[1].expected == ["b", "d", "f", "h", "j", "l"]


def test_decode_top_level_only_unquotes_string_literals():
    assert decode_top_level('"a b"') == "a b"
    assert decode_top_level("'x'") == "x"
    assert decode_top_level("12") == "12"  # an unquoted digit string is data, not a literal
    assert decode_top_level("[1, 2]") == "[1, 2]"
    assert decode_top_level("not python (") == "not python ("
    assert decode_top_level(3) == 3


def test_apps_hub_call_outputs_and_solutions(apps_hub):
    problems = {p.id: p for p in load_problems(apps_hub)}
    assert [p.fn_name for p in problems.values()] == [None, None, None, "findKthPositive", "is_prime"]
    # LeetCode outputs are stored bare ([9]); Codewars ones wrapped ([[false], ...]).
    assert problems["2404"].tests == [Test(kind="call", args=([2, 3, 4, 7, 11], 5), expected=9)]
    assert [t.expected for t in problems["4184"].tests] == [False, True, True, False, False, True, True, False]
    assert len(problems["2287"].tests) == 3 and problems["2287"].difficulty == "competition"
    record = json.loads(apps_hub.read_text())[0]
    assert problems["1"].solution == json.loads(record["solutions"])[0]
    assert problems["1"].meta["n_solutions"] == 24


def test_humaneval_solution_and_check_run(humaneval_file):
    problems = load_problems(humaneval_file)
    p = problems[0]
    assert p.id == "HumanEval/0" and p.entry_point == "has_close_elements"
    assert p.solution.startswith(p.prompt)
    assert p.tests[0].code.endswith("\ncheck(has_close_elements)\n")
    exec(p.solution + "\n" + p.tests[0].code, {})  # the canonical answer passes its own check
    broken = p.prompt + "    return False\n"
    with pytest.raises(AssertionError):
        exec(broken + "\n" + p.tests[0].code, {})


def test_mbpp_fields(mbpp_file, mbpp_sanitized_file):
    problems = load_problems(mbpp_file)
    assert problems[0].id == "1" and problems[0].fn_name == problems[0].entry_point == "min_cost"
    assert all(len(p.tests) == 3 and p.tests[0].kind == "assert" for p in problems)
    assert sum(p.test_setup is not None for p in problems) == 2
    assert sum("challenge_tests" in p.meta for p in problems) == 11
    sanitized = load_problems(mbpp_sanitized_file)
    # the tested function is the one the solution defines, not the `set(` wrapped around it
    assert sanitized[0].fn_name == "similar_elements"
    assert sum(p.test_setup is not None for p in sanitized) == 13
    assert all(p.fn_name and f"def {p.fn_name}" in p.solution for p in problems + sanitized)


# ---------------------------------------------------------------- detection and forcing


NATIVE = {
    "id": "add-1",
    "prompt": "Read n and print n+1.",
    "solution": "n = int(input())\nprint(n + 1)\n",
    "difficulty": "introductory",
    "tests": [{"stdin": "1\n", "stdout": "2\n"}],
    "blocks": [["If", 1, 2]],
}
CALL = {
    "prompt": "def f(a, b): return a*b",
    "solution": "def f(a, b):\n    return a * b\n",
    "fn_name": "f",
    "tests": [{"args": [2, 3], "expected": 6}, {"assert": "assert f(1, 1) == 1"}],
}


def write_jsonl(path: Path, records: list, gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("name, gz", [("p.jsonl", False), ("p.jsonl.gz", True), ("p.json", False), ("p.json.gz", True)])
def test_native_containers(tmp_path, name, gz):
    path = tmp_path / name
    if name.endswith((".json", ".json.gz")):
        text = json.dumps([NATIVE, CALL])
        if gz:
            with gzip.open(path, "wt", encoding="utf-8") as f:
                f.write(text)
        else:
            path.write_text(text)
    else:
        write_jsonl(path, [NATIVE, CALL], gz=gz)
    assert detect_format(path) == "jsonl"
    first, second = load_problems(path)
    assert first.id == "add-1" and first.meta == {"blocks": [["If", 1, 2]]}
    assert second.id == "1"  # no id: its position in the file
    assert second.tests == [Test(kind="call", args=(2, 3), expected=6), Test(kind="assert", code="assert f(1, 1) == 1")]


def test_forced_format_overrides_detection(tmp_path, apps_plus_train):
    with pytest.raises(ProblemFormatError, match="record 0, field 'tests'"):
        load_problems(apps_plus_train, format="jsonl")
    path = write_jsonl(tmp_path / "weird.jsonl", [{"prompt": "p", "canonical_solution": "print(1)", "inputs": ["\n"], "outputs": ["1\n"]}])
    assert load_problems(path)[0].source_format == "apps-plus"
    with pytest.raises(ValueError, match="unknown problem format"):
        load_problems(path, format="codecontests")
    assert set(FORMATS) == {"apps-plus", "apps", "humaneval", "mbpp", "jsonl"}


def test_undetectable_and_empty_files(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"foo": 1}])
    with pytest.raises(ProblemFormatError, match="cannot detect the format"):
        load_problems(path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert load_problems(empty) == []
    with pytest.raises(ProblemFormatError, match="no records"):
        detect_format(empty)


def test_apps_plus_fields_stored_as_literal_strings(tmp_path):
    rec = {
        "prompt": "def f(s):", "canonical_solution": "def f(s):\n    return s\n",
        "inputs": "[['\"ab\"'], [[1, 2]]]", "outputs": "[['\"ab\"'], [[1, 2]]]",
        "starter_code": "\ndef f(s):\n", "scope": "[['Function Body', 1, 2]]", "difficulty": "introductory",
    }
    (p,) = load_problems(write_jsonl(tmp_path / "a.jsonl", [rec]))
    assert p.fn_name == "f" and p.meta["scope"] == [["Function Body", 1, 2]]
    assert p.tests == [Test(kind="call", args=("ab",), expected="ab"), Test(kind="call", args=([1, 2],), expected=[1, 2])]


# ---------------------------------------------------------------- malformed records


@pytest.mark.parametrize(
    "bad, field, message",
    [
        ({k: v for k, v in NATIVE.items() if k != "prompt"}, "prompt", "missing required field"),
        ({**NATIVE, "prompt": 3}, "prompt", "expected str, got int"),
        ({**NATIVE, "tests": [{"stdin": "1"}]}, "tests", "test 0: keys"),
        ({**CALL, "fn_name": None}, "fn_name", "need the function name"),
        ({**NATIVE, "difficulty": ["hard"]}, "difficulty", "expected str"),
    ],
)
def test_malformed_native_record_names_file_record_field(tmp_path, bad, field, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [NATIVE, NATIVE, bad])
    with pytest.raises(ProblemFormatError) as info:
        load_problems(path)
    err = info.value
    assert (err.path, err.record, err.field_name) == (str(path), 2, field)
    assert str(path) in str(err) and "record 2" in str(err) and message in str(err)


def test_bad_json_line_names_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(NATIVE) + "\n{not json\n" + json.dumps(NATIVE) + "\n")
    with pytest.raises(ProblemFormatError, match=r"record 1: line 2 is not valid JSON") as info:
        load_problems(path)
    assert info.value.record == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"inputs": 5}, "inputs"),
        ({"outputs": ["1\n", "2\n"]}, "outputs"),
        ({"inputs": [[1]], "outputs": [[1, 2]]}, "outputs"),
        ({"inputs": "[[1]", "outputs": [[1]]}, "inputs"),
        ({"inputs": [[1]], "outputs": [[1]], "starter_code": "class Solution:\n"}, "starter_code"),
    ],
)
def test_malformed_apps_plus_records(tmp_path, change, field):
    rec = {"prompt": "p", "canonical_solution": "def F():\n    print(1)\n", "inputs": ["\n"], "outputs": ["1\n"],
           "starter_code": "def F():\n", "scope": [], "difficulty": "introductory"}
    path = write_jsonl(tmp_path / "bad.jsonl", [rec, {**rec, **change}])
    with pytest.raises(ProblemFormatError) as info:
        load_problems(path, format="apps-plus")
    assert (info.value.record, info.value.field_name) == (1, field)


def test_malformed_apps_and_mbpp_records(tmp_path):
    apps = {"problem_id": 7, "question": "q", "solutions": "[\"print(1)\"]", "input_output": "{\"inputs\": [", "starter_code": ""}
    with pytest.raises(ProblemFormatError, match="record 0, field 'input_output'"):
        load_problems(write_jsonl(tmp_path / "apps.jsonl", [apps]))
    mbpp = {"task_id": 1, "text": "t", "code": "def f(): pass", "test_list": "assert f() is None", "test_setup_code": ""}
    with pytest.raises(ProblemFormatError, match="record 0, field 'test_list'"):
        load_problems(write_jsonl(tmp_path / "mbpp.jsonl", [mbpp]))


# ---------------------------------------------------------------- round trip


def test_native_round_trip(tmp_path):
    problems = load_problems(write_jsonl(tmp_path / "in.jsonl", [NATIVE, CALL]))
    again = load_problems(save_jsonl(problems, tmp_path / "out.jsonl.gz"))
    assert again == problems
    assert [p.to_json() for p in again] == [p.to_json() for p in problems]
    assert again[0].to_json() == NATIVE  # key for key: nothing lost or invented


@pytest.mark.parametrize("fixture", ["apps_plus_valid", "apps_hub", "humaneval_file", "mbpp_file", "mbpp_sanitized_file"])
def test_every_format_round_trips_through_native(request, tmp_path, fixture):
    problems = load_problems(request.getfixturevalue(fixture))
    again = load_problems(save_jsonl(problems, tmp_path / "out.jsonl"))
    assert again == problems


def test_to_json_keeps_real_fields_over_meta():
    p = Problem(id="a", prompt="p", solution=None, tests=[], meta={"id": "other", "blocks": []})
    assert p.to_json() == {"id": "a", "prompt": "p", "solution": None, "tests": [], "blocks": []}


def test_data_convert_and_info_commands(tmp_path, humaneval_file, capsys):
    from stepcoder.cli import main

    out = tmp_path / "he.jsonl"
    assert main(["data", "convert", str(humaneval_file), str(out)]) == 0
    assert load_problems(out) == load_problems(humaneval_file)
    capsys.readouterr()
    assert main(["data", "info", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["format"], info["problems"], info["test_kinds"]) == ("jsonl", 164, {"assert": 164})
