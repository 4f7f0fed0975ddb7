"""SFT: targets in PPO's prompt format, prompt tokens out of the loss, the loss goes down."""

from __future__ import annotations

import json

import pytest

from stepcoder.config import config_from_dict
from stepcoder.prompts import PromptConfig, build_prompt
from stepcoder.problems import Problem, Test
from stepcoder.trainer.config import TrainConfig
from stepcoder.trainer.examples import sft_examples, target_text
from stepcoder.trainer.sft import sft_batches


class CharTokenizer:
    """One id per character (+ BOS 1, EOS 2): enough to check what goes where."""

    eos_token_id = 2
    chat_template = None

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": ([1] if add_special_tokens else []) + [ord(c) for c in text]}


def problem(i: int, solution: str | None = "print(1)") -> Problem:
    return Problem(id=f"p{i}", prompt=f"Print {i}.", solution=solution, tests=[Test(kind="stdio", stdin="", stdout="1\n")])


def test_examples_are_prompt_then_program_then_eos():
    cfg = PromptConfig(template="plain")
    tok = CharTokenizer()
    (ex,) = sft_examples([problem(0), problem(1, solution=None)], tok, cfg, max_length=200)
    prompt = build_prompt(problem(0), "", cfg)  # the PPO prompt at stage 0 (empty prefix)
    assert ex.prompt_ids == [1] + [ord(c) for c in prompt]
    assert ex.target_ids == [ord(c) for c in "print(1)\n"] + [2]


def test_fenced_templates_close_the_fence():
    assert target_text(problem(0), PromptConfig(template="deepseek-instruct"), None) == "print(1)\n```"


def test_long_examples_are_dropped():
    assert sft_examples([problem(0)], CharTokenizer(), PromptConfig(template="plain"), max_length=10) == []


def test_batches_cover_fractional_epochs_with_fresh_shuffles():
    examples = list(range(8))
    batches = list(sft_batches(examples, batch_size=2, epochs=1.5, seed=0))
    assert len(batches) == 6  # ceil(1.5 * 8 / 2)
    assert sorted(x for b in batches[:4] for x in b) == examples  # first epoch: each once


@pytest.mark.slow
def test_sft_loss_decreases_and_saves_a_loadable_model(tmp_path):
    from stepcoder.models import ModelConfig, load_policy
    from stepcoder.trainer.sft import run_sft

    cfg = config_from_dict(TrainConfig, {
        "prompt": {"template": "plain"},
        "data": {"max_train_problems": 8},
        "sft": {"epochs": 6.0, "lr": 3e-3, "batch_size": 4, "grad_accum": 2, "warmup_ratio": 0.0,
                "scheduler": "constant", "log_every": 1},
        "training": {"tensorboard": False},
    })
    run_sft(cfg, tmp_path)
    losses = [json.loads(line)["loss"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 12  # 6 epochs x 8 problems / batch 4
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3
    load_policy(ModelConfig(name_or_path=str(tmp_path)))  # an ordinary HF folder


def test_sft_gradients_do_not_depend_on_accumulation():
    # one token-mean over the batch, however it is split: micro-batches of unequal token
    # counts must weigh by their tokens, not equally (the loop PPO's update uses too)
    import torch

    from stepcoder.data import tiny_dataset_path
    from stepcoder.models import ModelConfig, load_policy, load_tokenizer
    from stepcoder.problems import load_problems
    from stepcoder.trainer.sft import sft_gradients

    tokenizer = load_tokenizer(ModelConfig(name_or_path="tiny"))
    examples = sorted(sft_examples(load_problems(tiny_dataset_path("train"))[::40], tokenizer,
                                   PromptConfig(template="plain"), max_length=512), key=lambda e: len(e.target_ids))
    examples = examples[:2] + examples[-2:]  # a short half and a long half
    halves = [sum(len(e.target_ids) for e in examples[i : i + 2]) for i in (0, 2)]
    assert halves[0] != halves[1]
    model = load_policy(ModelConfig(name_or_path="tiny"))
    runs = []
    for accum in (1, 2, 4):
        model.zero_grad(set_to_none=True)
        loss = sft_gradients(model, examples, accum, tokenizer.pad_token_id)
        runs.append((loss, [p.grad.clone() for p in model.parameters() if p.requires_grad]))
    (ref_loss, ref_grads), *others = runs
    for loss, grads in others:
        assert loss == pytest.approx(ref_loss, rel=1e-5)
        for a, b in zip(ref_grads, grads, strict=True):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)
