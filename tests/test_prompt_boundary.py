"""CCCS prompts end on a token boundary the model has seen (token healing), for the tiny
tokenizer on every bundled problem and stage, and for gemma's when its package is installed;
the executed program is exactly prefix + completion."""

from __future__ import annotations

import pytest

from stepcoder.curriculum import Curriculum, CurriculumConfig
from stepcoder.data import tiny_dataset_path
from stepcoder.problems import Problem, load_problems
from stepcoder.prompts import PromptConfig, build_prompt, heal_prefix, make_prompt

PLAIN = PromptConfig(template="plain")
SPLITS = CurriculumConfig(split_kinds=("if", "elif", "for", "while"))


@pytest.fixture(scope="module")
def tiny_tokenizer():
    from stepcoder.models import ModelConfig, load_tokenizer

    return load_tokenizer(ModelConfig(name_or_path="tiny"))


def stage_prefixes(problems: list[Problem]):
    """(problem, raw CCCS prefix) for every problem and every stage > 0 of its curriculum."""
    curriculum = Curriculum(problems, SPLITS)
    for problem in problems:
        for stage in range(1, curriculum.num_stages(problem)):
            curriculum._state(problem).stage = stage
            yield problem, curriculum.prefix_for(problem)


def assert_healed(tokenizer, problem: Problem, raw_prefix: str) -> str:
    prompt = make_prompt(problem, raw_prefix, PLAIN, tokenizer)
    prefix = prompt.program_prefix
    rest = problem.solution[len(prefix):]
    assert problem.solution.startswith(prefix) and prefix == prefix.rstrip()
    assert raw_prefix.startswith(prefix) and prompt.text.endswith(prefix)
    assert prompt.program(rest) == problem.solution  # program == prefix + completion, exactly
    ids = tokenizer(prompt.text)["input_ids"]
    full = tokenizer(prompt.text + rest)["input_ids"]
    assert full[:len(ids)] == ids, (problem.id, raw_prefix[-30:])
    return prefix


def test_bare_newline_prompts_are_not_token_prefixes_but_healed_ones_are(tiny_tokenizer):
    """The failure the healing fixes: a prompt ending in the prefix's final newline is not a
    token prefix of the full text (the newline merges with the next line's indentation)."""
    problem = Problem(id="t", prompt="Count.", tests=[],
                      solution="s = input()\ncount = 0\nfor ch in s:\n    if ch == \"a\":\n        count += 1\nprint(count)\n")
    raw = problem.solution[:problem.solution.index("    if")]
    head = build_prompt(problem, "", PLAIN)
    bare = tiny_tokenizer(head + raw)["input_ids"]
    full = tiny_tokenizer(head + problem.solution)["input_ids"]
    assert full[:len(bare)] != bare
    assert heal_prefix(tiny_tokenizer, head, problem.solution, raw) == raw.rstrip()
    assert_healed(tiny_tokenizer, problem, raw)


@pytest.mark.parametrize("split", ["train", "heldout", "ood"])
def test_every_bundled_problem_and_stage_heals_for_the_tiny_tokenizer(tiny_tokenizer, split):
    pairs = list(stage_prefixes(load_problems(tiny_dataset_path(split))))
    assert len(pairs) >= 20  # the bundled problems do have curricula
    for problem, raw in pairs:
        assert_healed(tiny_tokenizer, problem, raw)


@pytest.mark.slow
def test_every_bundled_train_problem_and_stage_heals_for_gemma(gemma_tokenizer):
    for problem, raw in stage_prefixes(load_problems(tiny_dataset_path("train"))):
        assert_healed(gemma_tokenizer, problem, raw)


def test_empty_prefix_and_no_tokenizer():
    problem = Problem(id="t", prompt="p", tests=[], solution="x = 1\nif x:\n    print(x)\n")
    assert make_prompt(problem, "", PLAIN).program_prefix == ""
    assert heal_prefix(None, "", problem.solution, "x = 1\n") == "x = 1"
    with pytest.raises(ValueError, match="start of the canonical solution"):
        heal_prefix(None, "", problem.solution, "y = 2\n")


def test_train_and_eval_build_identical_prompts_at_stage_0(tiny_tokenizer, tmp_path):
    """The model is measured on the prompt it is trained on: the SFT example's prompt ids,
    the PPO rollout's prompt at stage 0 and the evaluation's prompt are the same."""
    from stepcoder.eval import EvalConfig
    from stepcoder.eval.generation import generate_batch, plan_batches, prompt_config
    from stepcoder.trainer.examples import encode_prompt, sft_examples

    problems = load_problems(tiny_dataset_path("heldout"))[:3]
    seen: list[str] = []

    def fake_generate(model, tokenizer, prompts, cfg, stop, seed):
        seen.extend(prompts)
        return ["print(1)\n"] * len(prompts)

    cfg = EvalConfig(model="tiny", prompt_template="plain", n_samples=1, batch_size=3)
    records = generate_batch(None, tiny_tokenizer, problems, plan_batches(3, 1, 3)[0], cfg, prompt_config(cfg),
                             fake_generate)
    examples = sft_examples(problems, tiny_tokenizer, PLAIN, max_length=512)
    for problem, prompt_text, example, record in zip(problems, seen, examples, records, strict=True):
        assert prompt_text == make_prompt(problem, "", PLAIN, tiny_tokenizer).text
        assert encode_prompt(tiny_tokenizer, prompt_text) == example.prompt_ids
        assert record["program"] == "print(1)\n"


def test_a_model_carries_its_prompt_settings(tmp_path):
    from stepcoder.eval import EvalConfig
    from stepcoder.eval.generation import prompt_config
    from stepcoder.prompts import load_prompt_config, prompt_config_for, save_prompt_config

    custom = PromptConfig(template="plain", stop=("\n# Task:", "\n\n\n"))
    save_prompt_config(custom, tmp_path)
    assert load_prompt_config(tmp_path) == custom
    assert prompt_config(EvalConfig(model=str(tmp_path))) == custom  # eval reads it by default
    assert prompt_config(EvalConfig(model=str(tmp_path), prompt_template="chat")).template == "chat"  # unless told
    assert prompt_config_for(PromptConfig(), tmp_path) == custom  # train: the untouched default yields to it
    assert prompt_config_for(PromptConfig(template="deepseek-instruct"), tmp_path).template == "deepseek-instruct"
    run = tmp_path / "run"
    (run / "checkpoints" / "step-5" / "policy").mkdir(parents=True)
    save_prompt_config(custom, run)  # a PPO run keeps it at its root; a checkpoint's policy finds it
    assert load_prompt_config(run / "checkpoints" / "step-5" / "policy") == custom
    (tmp_path / "prompt_config.json").write_text('{"template": "plain", "colour": 1}')
    with pytest.raises(ValueError, match="unknown keys"):
        load_prompt_config(tmp_path)
