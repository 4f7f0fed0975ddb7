"""Messages across the sandbox's process boundaries: one decoder, and whatever it is fed it
returns the message or raises MessageError; malformed replies are verdicts, never exceptions."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepcoder.problems.types import Problem, Test
from stepcoder.sandbox import SandboxConfig, Verdict
from stepcoder.sandbox.judge import build_result
from stepcoder.sandbox.messages import (MESSAGES, CallReply, CallRequest, CandidateJob, ChildReport, JudgeReport,
                                        MessageError, ProgramReply, RunRequest, TestInput, TestObservation, decode,
                                        encode, to_obj)
from stepcoder.sandbox.plain import BadTaggedData, from_tagged, to_tagged

EXAMPLES = [
    TestInput("call", "parent", args=[1, {"l": [2]}]),
    RunRequest("print(1)", (TestInput("stdio", "parent", stdin="1\n"), TestInput("assert", "judge", code="assert f(1)", stubs=("f",))),
               fn_name="f", prelude="apps", wrap_stdio=True),
    CandidateJob("x = 1", "serve", True, 2.0),
    ChildReport("error", error_type="ValueError", message="bad", line=3, lines=(1, 2, 3)),
    CallRequest("f", {"l": [1]}, {"d": []}),
    CallReply("ok", {"t": [1, 2]}),
    JudgeReport("fail", "AssertionError", "", None, 3),
    TestObservation("judge", exit_code=0, cpu_s=0.01, stdout="x", report="{}", judge="{}"),
    ProgramReply(tests=(TestObservation("parent"),), restart=True),
]


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg) -> None:
    assert decode(encode(msg), type(msg)) == msg


def test_every_message_type_has_an_example() -> None:
    assert {type(m).__name__ for m in EXAMPLES} | {"WorkerHello", "JudgeJob"} == set(MESSAGES)


@pytest.mark.parametrize("text, why", [
    ('{"v": 1, "type": "ChildReport", "status": "ok", "lines": null}', "lines"),  # once a TypeError in the judge
    ("[" * 100_000 + "]" * 100_000, "not JSON"),  # once a RecursionError
    ('{"v": 2, "type": "ChildReport", "status": "ok"}', "version"),
    ('{"v": 1, "type": "JudgeReport", "status": "pass"}', "expected a ChildReport"),
    ('{"v": 1, "type": "ChildReport", "status": "PASS"}', "not one of"),
    ('{"v": 1, "type": "ChildReport", "status": "ok", "line": true}', "line"),  # a bool is not an int
    ('{"v": 1, "type": "ChildReport", "status": "ok", "lines": [0]}', "line numbers"),
    ('{"v": 1, "type": "ChildReport", "status": "ok", "extra": 1}', "unknown fields"),
    ('{"v": 1, "type": "ChildReport"}', "missing field"),
    ('{"v": 1, "type": "ChildReport", "status": "ok", "lines": [' + "9" * 5000 + "]}", "not JSON"),
    ("\x00\xff", "not JSON"),
])
def test_malformed_child_reports_are_message_errors(text: str, why: str) -> None:
    with pytest.raises(MessageError, match=why):
        decode(text, ChildReport)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=30)


def _field_values(cls: type) -> st.SearchStrategy:
    """Objects shaped like ``cls``'s messages, with any JSON in any field."""
    base = to_obj(next(m for m in EXAMPLES if type(m) is cls))
    return st.fixed_dictionaries({k: st.just(v) for k, v in base.items()}).flatmap(
        lambda d: st.dictionaries(st.sampled_from(sorted(d) + ["other"]), JSON, max_size=6).map(lambda extra: {**d, **extra}))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([ChildReport, CallReply, JudgeReport, ProgramReply, TestObservation]).flatmap(
    lambda cls: st.tuples(st.just(cls), _field_values(cls))))
def test_decoder_fuzz_structured(case) -> None:
    cls, obj = case
    try:
        msg = decode(json.dumps(obj), cls)
    except MessageError:
        return
    assert type(msg) is cls


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200) | JSON.map(lambda x: json.dumps(x).encode()))
def test_decoder_fuzz_any_input(data: bytes) -> None:
    for cls in (ChildReport, ProgramReply, CallReply, JudgeReport):
        try:
            decode(data, cls)
        except MessageError:
            pass


PLAIN = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
                     | st.complex_numbers(allow_nan=False),
                     lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3) | st.frozensets(st.integers(), max_size=3),
                     max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(PLAIN)
def test_plain_data_round_trips(value) -> None:
    back = from_tagged(json.loads(json.dumps(to_tagged(value))))
    assert back == value and type(back) is type(value) or isinstance(value, frozenset)  # a frozenset comes back a set


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_tagged_decoder_fuzz(obj) -> None:
    try:
        from_tagged(obj)
    except BadTaggedData:
        pass


PROBLEM = Problem(id="p", prompt="", solution=None, fn_name="f",
                  tests=[Test("call", args=(1,), expected=2), Test("call", args=(2,), expected=4)])
PROGRAM = "def f(x):\n    return 2 * x\n"


def _reply(*reports: str) -> ProgramReply:
    return ProgramReply(tests=tuple(TestObservation("parent", exit_code=0, report=r) for r in reports))


def _ok(value: int, lines: tuple[int, ...] = (1, 2)) -> str:
    return encode(ChildReport("ok", value=value, lines=lines)).decode()


@pytest.mark.parametrize("bad", [
    '{"v": 1, "type": "ChildReport", "status": "ok", "value": 4, "lines": null}',
    '{"v": 1, "type": "ChildReport", "status": "ok", "value": {"x": 1}}',  # not tagged data
    '{"v": 1, "type": "ChildReport", "status": "ok", "value": {"d": [[{"d": []}, 1]]}}',  # an unhashable key
    "[" * 50_000,
    "not json",
])
def test_a_malformed_report_is_that_tests_runtime_error(bad: str) -> None:
    result = build_result(PROBLEM, PROGRAM, _reply(_ok(2), bad), SandboxConfig(), {})
    assert result.verdict is Verdict.RUNTIME_ERROR and result.tests[1].error_type == "BadReport"
    assert result.tests[0].verdict is Verdict.PASS


def test_forged_lines_are_cut_to_the_programs_statements() -> None:
    forged = _ok(2, (1, 2, 3, 99, 12345))
    result = build_result(PROBLEM, PROGRAM, _reply(forged, _ok(4)), SandboxConfig(), {})
    assert result.passed and result.executed_lines == frozenset({1, 2})


def test_a_forged_pass_report_cannot_pass_a_wrong_value() -> None:
    result = build_result(PROBLEM, PROGRAM, _reply(_ok(2), _ok(5)), SandboxConfig(), {})
    assert result.verdict is Verdict.WRONG_ANSWER


def test_wrong_number_of_tests_is_a_runtime_error() -> None:
    result = build_result(PROBLEM, PROGRAM, _reply(_ok(2), _ok(4), _ok(4)), SandboxConfig(), {})
    assert result.verdict is Verdict.RUNTIME_ERROR and result.error_type == "BadReport"
