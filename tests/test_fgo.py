"""FGO token mask: hand-computed cases on hand-built offsets, and real programs (executed by a
line tracer and by the sandbox) tokenized with a byte-level BPE trained here."""

from __future__ import annotations

import contextlib
import io
import sys

import pytest

from stepcoder.masking.fgo import fgo_token_mask, line_states
from stepcoder.problems.types import Problem, Test

BRANCH = (
    "def f(x):\n"            # 1  (prefix)
    "    if x > 0:\n"        # 2  completion starts here
    "        return 1\n"     # 3
    "    else:\n"            # 4
    "        return -1\n"    # 5
)
PREFIX = "def f(x):\n"


def _line_tokens(program: str, start: int) -> list[tuple[int, int]]:
    """One token per line of the completion (its newline included), offsets in the completion."""
    completion = program[start:]
    offsets, pos = [], 0
    for line in completion.splitlines(keepends=True):
        offsets.append((pos, pos + len(line)))
        pos += len(line)
    return offsets


def test_unreachable_branch_masked_by_hand():
    offsets = _line_tokens(BRANCH, len(PREFIX))  # lines 2, 3, 4, 5
    mask = fgo_token_mask(BRANCH, len(PREFIX), offsets, {1, 2, 3}, "PASS")
    assert mask == [1, 1, 0, 0]  # `else:` has no line event; its block never ran


def test_else_header_kept_when_its_block_ran():
    offsets = _line_tokens(BRANCH, len(PREFIX))
    assert fgo_token_mask(BRANCH, len(PREFIX), offsets, {1, 2, 5}, "PASS") == [1, 0, 1, 1]


def test_whitespace_tokens_belong_to_the_next_line_and_straddlers_are_kept():
    start = len(PREFIX)
    completion = BRANCH[start:]
    newline_after_return_1 = completion.index("1\n") + 1
    indent_token = (newline_after_return_1, newline_after_return_1 + len("\n    "))  # before `else`
    straddler = (completion.index("1\n"), completion.index("else") + len("else"))  # "1\n    else"
    mask = fgo_token_mask(BRANCH, start, [indent_token, straddler], {1, 2, 3}, "WRONG_ANSWER")
    assert mask == [0, 1]


def test_end_of_sequence_and_text_past_the_program_are_kept():
    start = len(PREFIX)
    n = len(BRANCH) - start
    offsets = _line_tokens(BRANCH, start) + [(n, n), (n, n + 3)]
    assert fgo_token_mask(BRANCH, start, offsets, {1, 2, 3}, "PASS") == [1, 1, 0, 0, 1, 1]


def test_no_mask_when_the_program_never_ran():
    offsets = _line_tokens(BRANCH, len(PREFIX))
    assert fgo_token_mask(BRANCH, len(PREFIX), offsets, {1, 2, 3}, "COMPILE_ERROR") == [1, 1, 1, 1]
    assert fgo_token_mask(BRANCH, len(PREFIX), offsets, None, "PASS") == [1, 1, 1, 1]
    assert fgo_token_mask(BRANCH, len(PREFIX), offsets, set(), "RUNTIME_ERROR") == [1, 1, 1, 1]
    broken = "def f(:\n    pass\n"
    assert fgo_token_mask(broken, 0, [(0, 8), (8, 17)], {1}, "RUNTIME_ERROR") == [1, 1]


def test_failure_before_the_completion_ran_keeps_everything_but_a_pass_does_not():
    offsets = _line_tokens(BRANCH, len(PREFIX))
    # Only the `def` line ran: f was never called.
    assert fgo_token_mask(BRANCH, len(PREFIX), offsets, {1}, "RUNTIME_ERROR") == [1, 1, 1, 1]
    assert fgo_token_mask(BRANCH, len(PREFIX), offsets, {1}, "PASS") == [0, 0, 0, 0]


def test_multiline_statement_comments_and_blank_lines():
    program = (
        "x = int('3')\n"        # 1
        "if x > 5:\n"           # 2
        "    # big numbers\n"   # 3  comment: takes the state of line 4
        "    y = (x +\n"        # 4
        "         1)\n"         # 5  continuation of line 4
        "\n"                    # 6  blank: takes the state of line 7
        "z = [x,\n"             # 7
        "     2]\n"             # 8
        "# the end\n"           # 9  trailing comment: kept
    )
    states = line_states(program, {1, 2, 7})
    assert states[1:10] == [True, True, False, False, False, True, True, True, True]


def test_silent_statements_follow_their_block():
    program = 'def f():\n    """doc"""\n    global g\n    g = 1\nf()\n'
    assert line_states(program, {1, 4, 5})[1:6] == [True, True, True, True, True]
    assert line_states(program, {1, 5})[1:6] == [True, False, False, False, True]


def test_try_except_finally_headers():
    program = "try:\n    a = 1\nexcept ValueError:\n    a = 2\nfinally:\n    a = 3\n"
    assert line_states(program, {1, 2, 6})[1:7] == [True, True, False, False, True, True]


# --- real programs, real tokenizer -----------------------------------------------------------

BRANCH_PROGRAM = (
    "def main():\n"
    "    n = int(input())\n"
    "    if n > 0:\n"
    "        print(n * 2)\n"
    "    else:\n"
    "        print(-n)\n"
    "        print('negative')\n"
)
STRAIGHT_PROGRAM = "def main():\n    n = int(input())\n    for i in range(n):\n        print(i)\n"
CRASH_PROGRAM = (
    "def main():\n"
    "    a = int(input())\n"
    "    b = 10 // a\n"
    "    print(b)\n"
    "    print(b + 1)\n"
)
BROKEN_PROGRAM = "def main():\n    n = int(input()\n    print(n)\n"
PROGRAM_PREFIX = "def main():\n"


@pytest.fixture(scope="module")
def bpe():
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import decoders, models, pre_tokenizers, processors, trainers

    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    corpus = [BRANCH_PROGRAM, STRAIGHT_PROGRAM, CRASH_PROGRAM] * 20
    trainer = trainers.BpeTrainer(vocab_size=320, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    return tok


def _problem(stdin: str) -> Problem:
    return Problem(id="p", prompt="", solution=None, tests=[Test(kind="stdio", stdin=stdin, stdout="")],
                   stdio_entry="main")


def _trace_run(problem: Problem, program: str) -> tuple[set[int], str]:
    """Executed lines and verdict from running ``program`` in-process under a line tracer."""
    try:
        code = compile(program, "<fgo-test>", "exec")
    except SyntaxError:
        return set(), "COMPILE_ERROR"
    lines: set[int] = set()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == "<fgo-test>" and event == "line":
            lines.add(frame.f_lineno)
        return tracer

    verdict = "WRONG_ANSWER"  # stdout is not compared here: only coverage matters
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(problem.tests[0].stdin)
    sys.settrace(tracer)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            namespace: dict = {}
            exec(code, namespace)
            namespace[problem.stdio_entry]()
    except Exception:
        verdict = "RUNTIME_ERROR"
    finally:
        sys.settrace(None)
        sys.stdin = old_stdin
    return lines, verdict


def _sandbox_run(problem: Problem, program: str) -> tuple[set[int] | None, str]:
    sandbox = pytest.importorskip("stepcoder.sandbox")
    if not hasattr(sandbox, "run_batch"):
        pytest.skip("stepcoder.sandbox.run_batch is not available")
    result = sandbox.run_batch([(problem, program)])[0]
    return result.executed_lines, result.verdict


@pytest.fixture(params=["tracer", "sandbox"])
def run(request):
    return _trace_run if request.param == "tracer" else _sandbox_run


def _mask_texts(bpe, program: str, executed, verdict) -> tuple[str, str, list[int]]:
    completion = program[len(PROGRAM_PREFIX):]
    offsets = bpe.encode(completion).offsets
    mask = fgo_token_mask(program, len(PROGRAM_PREFIX), offsets, executed, verdict)
    assert len(mask) == len(offsets)
    kept = "".join(completion[a:b] for (a, b), m in zip(offsets, mask) if m)
    masked = "".join(completion[a:b] for (a, b), m in zip(offsets, mask) if not m)
    return kept, masked, mask


def test_real_unreachable_branch_masks_exactly_that_branch(bpe, run):
    executed, verdict = run(_problem("3\n"), BRANCH_PROGRAM)
    kept, masked, _ = _mask_texts(bpe, BRANCH_PROGRAM, executed, verdict)
    assert masked.strip() == "else:\n        print(-n)\n        print('negative')"
    assert kept.strip() == "n = int(input())\n    if n > 0:\n        print(n * 2)"


def test_real_fully_executed_program_masks_nothing(bpe, run):
    executed, verdict = run(_problem("3\n"), STRAIGHT_PROGRAM)
    _, masked, mask = _mask_texts(bpe, STRAIGHT_PROGRAM, executed, verdict)
    assert masked == "" and all(mask)


def test_real_runtime_error_masks_what_follows_the_failing_line(bpe, run):
    executed, verdict = run(_problem("0\n"), CRASH_PROGRAM)
    assert str(getattr(verdict, "value", verdict)) == "RUNTIME_ERROR"
    kept, masked, _ = _mask_texts(bpe, CRASH_PROGRAM, executed, verdict)
    assert kept.strip() == "a = int(input())\n    b = 10 // a"
    assert masked.strip() == "print(b)\n    print(b + 1)"


def test_real_compile_error_masks_nothing(bpe, run):
    executed, verdict = run(_problem("3\n"), BROKEN_PROGRAM)
    assert str(getattr(verdict, "value", verdict)) == "COMPILE_ERROR"
    _, _, mask = _mask_texts(bpe, BROKEN_PROGRAM, executed, verdict)
    assert all(mask)
