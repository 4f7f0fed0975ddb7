"""`evaluate` and `stepcoder eval`: resumable samples, seeding, settings guard, outputs."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from stepcoder.eval import EvalConfig, EvalSettingsError, evaluate
from stepcoder.eval.checkpoint import resolve_eval_model
from stepcoder.eval.generation import batch_seed, plan_batches
from stepcoder.prompts.completion_form import truncate_at_stop
from stepcoder.eval.store import SampleStore
from stepcoder.problems.types import Problem, Test


def humaneval_like(name: str, body_ok: str, arg: int, expected: int, difficulty: str | None = None) -> Problem:
    return Problem(id=f"T/{name}", prompt=f"def {name}(x):\n    \"\"\"Return {body_ok}.\"\"\"\n", solution=None,
                   tests=[Test(kind="assert", code=f"assert {name}({arg}) == {expected}")],
                   entry_point=name, difficulty=difficulty, source_format="humaneval")


PROBLEMS = [
    humaneval_like("double", "x * 2", 3, 6, "introductory"),
    humaneval_like("square", "x * x", 3, 9, "interview"),
    humaneval_like("inc", "x + 1", 3, 4, "interview"),
]
CANDIDATES = ["    return x * 2\n", "    return x * x\n", "    return x + 1\n", "    return (\n", "    return 1 / 0\n"]


class FakeSampler:
    """A seeded stand-in for the model: the choice depends on (seed, position in batch,
    prompt) only, like HF sampling depends on the batch's seed; it can be made to die."""

    def __init__(self, die_after_batches: int | None = None):
        self.calls, self.die_after = 0, die_after_batches

    def __call__(self, model, tokenizer, prompts, cfg, stop, seed):
        if self.die_after is not None and self.calls >= self.die_after:
            raise KeyboardInterrupt("killed")
        self.calls += 1
        return [random.Random(f"{seed}/{i}/{p}").choice(CANDIDATES) + "\ndef junk():\n" for i, p in enumerate(prompts)]


def run_eval(out: Path, sampler, **overrides):
    cfg = EvalConfig(**{"model": "fake", "data": "mem", "n_samples": 3, "k": (1, 2), "batch_size": 2, **overrides})
    return evaluate(None, None, PROBLEMS, cfg, out, generate=sampler, progress=False, write_report=False)


def test_plan_batches_and_seeds():
    batches = plan_batches(num_problems=3, n_samples=3, batch_size=2)
    assert [len(b) for b in batches] == [2, 2, 2, 2, 1]  # 3 * 3 = 9 slots
    assert [(s.problem_index, s.sample_idx) for s in batches[1]] == [(0, 2), (1, 0)]
    assert batch_seed(0, "a", 0) != batch_seed(0, "a", 1) != batch_seed(1, "a", 0)


def test_truncate_at_stop():
    assert truncate_at_stop("    return x\n\n\nif __name__ == '__main__':\n    pass") == "    return x\n\n"
    assert truncate_at_stop("    return x\n") == "    return x\n"


def test_store_cuts_a_torn_last_line(tmp_path):
    store = SampleStore(tmp_path)
    store.append([{"a": 1}, {"a": 2}])
    with open(store.samples_path, "a") as fh:
        fh.write('{"a": 3, "comp')  # killed mid-write
    assert store.load() == [{"a": 1}, {"a": 2}]
    store.append([{"a": 3}])
    assert store.load() == [{"a": 1}, {"a": 2}, {"a": 3}]


def test_config_validation():
    with pytest.raises(ValueError, match="pass@10 needs at least 10 samples"):
        EvalConfig(n_samples=5, k=(1, 10))
    with pytest.raises(ValueError, match="greedy"):
        EvalConfig(n_samples=2, greedy=True)
    assert EvalConfig(n_samples=10, k=(10, 1, 1)).k == (1, 10)


def test_resolve_eval_model_takes_latest_checkpoint(tmp_path):
    for step in ("step-000010", "step-000100", "step-000020"):
        (tmp_path / "run" / "checkpoints" / step / "policy").mkdir(parents=True)
    assert resolve_eval_model(str(tmp_path / "run")) == str(tmp_path / "run/checkpoints/step-000100/policy")
    assert resolve_eval_model(str(tmp_path / "run/checkpoints/step-000010")).endswith("step-000010/policy")
    (tmp_path / "empty" / "checkpoints").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="without any checkpoints"):
        resolve_eval_model(str(tmp_path / "empty"))


def test_eval_outputs_and_scores(tmp_path):
    result = run_eval(tmp_path, FakeSampler())
    records = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 3 * 3
    for rec in records:
        # the completion is cut at the stop sequence; the program is prompt + completion
        assert "junk" not in rec["completion"]
        problem = next(p for p in PROBLEMS if p.id == rec["task_id"])
        assert rec["program"] == problem.prompt + rec["completion"]
        # the right body for this problem passes; any other body does not
        right = CANDIDATES[PROBLEMS.index(problem)]
        assert rec["passed"] == (rec["completion"] == right), rec
    assert {r["verdict"] for r in records if r["completion"] == "    return (\n"} <= {"COMPILE_ERROR"}
    assert {r["verdict"] for r in records if r["completion"] == "    return 1 / 0\n"} <= {"RUNTIME_ERROR"}
    n_pass = {p.id: sum(r["passed"] for r in records if r["task_id"] == p.id) for p in PROBLEMS}
    assert result.pass_at_k["Overall"]["pass@1"] == pytest.approx(sum(n_pass.values()) / 3 / 3)
    assert result.pass_at_k["introductory"]["pass@1"] == pytest.approx(n_pass["T/double"] / 3)
    saved = json.loads((tmp_path / "eval.json").read_text())
    assert saved["pass_at_k"] == result.pass_at_k and sum(saved["by_verdict"].values()) == 9


def test_killed_eval_resumes_to_the_same_samples(tmp_path):
    run_eval(tmp_path / "whole", FakeSampler())
    with pytest.raises(KeyboardInterrupt):
        run_eval(tmp_path / "killed", FakeSampler(die_after_batches=2))
    assert len((tmp_path / "killed" / "samples.jsonl").read_text().splitlines()) == 2 * 2
    run_eval(tmp_path / "killed", FakeSampler())
    assert (tmp_path / "killed" / "samples.jsonl").read_text() == (tmp_path / "whole" / "samples.jsonl").read_text()


def test_truncated_mid_batch_resumes_to_the_same_samples(tmp_path):
    run_eval(tmp_path / "whole", FakeSampler())
    whole = (tmp_path / "whole" / "samples.jsonl").read_text()
    run_eval(tmp_path / "cut", FakeSampler())
    lines = whole.splitlines(keepends=True)
    # keep 5 lines (the middle of the third batch) and half of the sixth
    (tmp_path / "cut" / "samples.jsonl").write_text("".join(lines[:5]) + lines[5][:20])
    sampler = FakeSampler()
    run_eval(tmp_path / "cut", sampler)
    assert (tmp_path / "cut" / "samples.jsonl").read_text() == whole
    assert sampler.calls == 3  # batches 3, 4 and 5 of 5 were made again; 1 and 2 were not


def test_rerun_with_other_settings_is_refused(tmp_path):
    run_eval(tmp_path, FakeSampler())
    with pytest.raises(EvalSettingsError, match="temperature: 0.2 there, 0.8 now"):
        run_eval(tmp_path, FakeSampler(), temperature=0.8)
    result = run_eval(tmp_path, FakeSampler(), k=(1,))  # k only changes scoring: allowed
    assert list(result.pass_at_k["Overall"]) == ["pass@1"]


@pytest.mark.slow
def test_tiny_model_killed_eval_matches_uninterrupted(tmp_path):
    """The real sampler on the tiny model: truncating samples.jsonl mid-batch and rerunning
    gives exactly the samples of the uninterrupted run."""
    from stepcoder.models import ModelConfig, load_policy, load_tokenizer

    model_cfg = ModelConfig(name_or_path="tiny")
    tokenizer, model = load_tokenizer(model_cfg), load_policy(model_cfg)
    model.eval()
    cfg = EvalConfig(model="tiny", data="mem", n_samples=2, k=(1, 2), batch_size=4, max_new_tokens=8, temperature=1.0)

    def run(out):
        return evaluate(model, tokenizer, PROBLEMS, cfg, out, progress=False, write_report=False)

    run(tmp_path / "whole")
    whole = (tmp_path / "whole" / "samples.jsonl").read_text()
    lines = whole.splitlines(keepends=True)
    assert len(lines) == 3 * 2 and len({json.loads(x)["completion"] for x in lines}) > 1
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    # killed in the first batch of 4: one sample written, the second torn
    (tmp_path / "cut" / "samples.jsonl").write_text("".join(lines[:1]) + lines[1][:7])
    run(tmp_path / "cut")
    assert (tmp_path / "cut" / "samples.jsonl").read_text() == whole


@pytest.mark.slow
def test_cli_eval_on_tiny_model(tmp_path, capfd):
    from transformers.utils import logging as hf_logging

    from stepcoder.cli import main
    from stepcoder.problems import save_jsonl

    data = tmp_path / "problems.jsonl"
    save_jsonl(PROBLEMS, data)
    out = tmp_path / "ev"
    argv = ["eval", "--model", "tiny", "--data", str(data), "--output-dir", str(out), "--n-samples", "2",
            "--k", "1,2", "--max-new-tokens", "8", "--batch-size", "3", "--no-progress"]
    hf_logging.enable_progress_bar()
    try:
        assert main(argv) == 0
        assert "Loading weights" not in capfd.readouterr().err  # --no-progress quiets the libraries' bars too
    finally:
        hf_logging.enable_progress_bar()
    assert (out / "report.md").exists() and (out / "plots" / "pass_at_k.png").exists()
    saved = json.loads((out / "eval.json").read_text())
    assert saved["num_problems"] == 3 and saved["n"] == 2 and set(saved["pass_at_k"]["Overall"]) == {"pass@1", "pass@2"}
    assert main(argv[:-1] + ["--temperature", "0.7"]) == 2  # other settings: refused
