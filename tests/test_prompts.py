"""Completion prompts and the rules that cut a model's output back to program text."""

from __future__ import annotations

import pytest

from stepcoder.prompts.templates import (
    DEEPSEEK_SYSTEM,
    PromptConfig,
    build_prompt,
    completion_stop_index,
    extract_completion,
    resolve_template,
)
from stepcoder.problems.types import Problem

APPS_PLUS_LIKE = Problem(
    id="1",
    prompt='\ndef FsxrN():\n    """Read two numbers and print their sum."""\n',
    solution="def FsxrN():\n    a, b = map(int, input().split())\n    if a:\n        print(a + b)\n",
    tests=[],
    starter_code="\ndef FsxrN():\n",
    stdio_entry="FsxrN",
)
CALL_BASED = Problem(id="2", prompt="Return the double of x.", solution="def double(x):\n    return 2 * x\n",
                     tests=[], starter_code="def double(x):\n", fn_name="double")


class FakeChatTokenizer:
    chat_template = "{{ messages }}"

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        assert tokenize is False and add_generation_prompt is True
        return "<user>" + messages[0]["content"] + "</user><assistant>"


def test_deepseek_instruct_prompt_ends_with_open_fence_and_prefix():
    prefix = "def FsxrN():\n    a, b = map(int, input().split())\n"
    text = build_prompt(APPS_PLUS_LIKE, prefix, PromptConfig(template="deepseek-instruct"))
    assert text.startswith(DEEPSEEK_SYSTEM + "\n### Instruction:\n")
    assert text.endswith("\n### Response:\n```python\n" + prefix)
    assert "Read two numbers and print their sum." in text
    # The starter code is already in the APPS+ prompt: not repeated.
    assert text.count("def FsxrN():") == 2  # once in the task, once in the prefix


def test_auto_without_chat_template_is_deepseek_and_with_one_is_chat():
    assert resolve_template(PromptConfig(), None) == "deepseek-instruct"
    assert resolve_template(PromptConfig(), FakeChatTokenizer()) == "chat"
    text = build_prompt(CALL_BASED, "", PromptConfig(), FakeChatTokenizer())
    assert text.startswith("<user>") and text.endswith("</user><assistant>```python\n")


def test_chat_needs_a_tokenizer_with_a_template():
    with pytest.raises(ValueError, match="chat_template"):
        build_prompt(CALL_BASED, "", PromptConfig(template="chat"), tokenizer=None)


def test_starter_code_shown_as_a_hint_when_not_in_the_prompt():
    text = build_prompt(CALL_BASED, "", PromptConfig(template="plain"))
    assert text == "# Task:\n# Return the double of x.\n#\n# Starter code:\n# def double(x):\n# Solution:\n"


def test_plain_prompt_comments_out_the_task_and_continues_the_prefix():
    prefix = "def FsxrN():\n"
    text = build_prompt(APPS_PLUS_LIKE, prefix, PromptConfig(template="plain"))
    assert text == (
        '# Task:\n# def FsxrN():\n#     """Read two numbers and print their sum."""\n# Solution:\n' + prefix
    )
    compile(text + "    print(1)\n", "<prompt>", "exec")  # the task block is valid Python


def test_custom_template():
    config = PromptConfig(template="Q: {prompt}\nStart: {starter_code}\nA:\n{prefix}")
    assert build_prompt(CALL_BASED, "def double(x):\n", config) == (
        "Q: Return the double of x.\n\nStarter code:\ndef double(x):\nStart: def double(x):\n\nA:\ndef double(x):\n"
    )
    with pytest.raises(ValueError, match="last"):
        PromptConfig(template="{prompt} {prefix} end")
    with pytest.raises(ValueError, match="prompt"):
        PromptConfig(template="no placeholder")


def test_extract_cuts_at_closing_fence_and_drops_prose():
    text = "    return 2 * x\n```\n\nThis doubles x.\n```python\nprint(1)\n```"
    cut = len("    return 2 * x\n")
    assert completion_stop_index(text) == cut
    assert extract_completion(text) == "    return 2 * x\n"


def test_extract_fence_only_at_line_start():
    text = 's = "```"\nprint(s)\n'
    assert completion_stop_index(text) is None
    assert extract_completion(text) == text
    assert extract_completion("```\nprose") == ""  # the model closed the block at once


def test_extract_cuts_at_stop_sequences():
    text = "print(1)\n<|EOT|>garbage"
    assert extract_completion(text, PromptConfig(template="deepseek-instruct")) == "print(1)\n"
    plain = PromptConfig(template="plain")
    assert extract_completion("print(1)\n# Task:\n# next problem", plain) == "print(1)"
    assert extract_completion("a = 1\nSTOP b = 2", PromptConfig(stop=("STOP",))) == "a = 1\n"
    # The earliest cut wins.
    assert completion_stop_index("x\n```\n<|EOT|>", PromptConfig(template="deepseek-instruct")) == 2


def test_extract_is_a_prefix_of_the_text():
    for text in ["", "a\n", "a\n```b", "a<|EOT|>```", "x\n# Task:"]:
        cut = completion_stop_index(text)
        assert extract_completion(text) == (text if cut is None else text[:cut])
