"""What a tiny PPO run must show: every trainable parameter of policy and critic moved, the
curriculum moved problems to earlier stages, each step logs its peak memory; and bad input
to ``stepcoder train`` / ``sft`` is one clear error that loses nothing."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

from stepcoder.cli import main

DEAD_BLOCKS = 6  # split points after the line that answers: K = ceil(sqrt(6)) = 3 stages


def dead_tail_problems(path: Path, count: int = 4) -> Path:
    """Problems whose solution answers on its second line and then holds DEAD_BLOCKS blocks
    the tests never enter, so every curriculum prefix but stage 0's (empty) is a passing program."""
    rows = []
    for i in range(count):
        tail = "".join(f"if n > 10 ** {9 + b}:\n    print({b})\n" if b % 2 else f"for _ in range({b} - {b}):\n    pass\n"
                       for b in range(DEAD_BLOCKS))
        rows.append({"id": f"dead/{i}", "prompt": f"Read an integer n and print n * {i + 2}.",
                     "solution": f"n = int(input())\nprint(n * {i + 2})\n{tail}",
                     "tests": [{"stdin": "3\n", "stdout": f"{3 * (i + 2)}\n"}, {"stdin": "-5\n", "stdout": f"{-5 * (i + 2)}\n"}]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def must_show_config(tmp_path: Path):
    from stepcoder.config import config_from_dict
    from stepcoder.trainer.config import TrainConfig

    return config_from_dict(TrainConfig, {
        "model": {"name_or_path": "tiny"},  # random init, no SFT
        "sampling": {"n": 2, "max_new_tokens": 4, "batch_size": 8},
        # Every ASCII character stops the completion, so the random model's completion is
        # (almost always) empty and the program is the prefix: the prefix decides the
        # verdict, and the test isolates how the trainer feeds verdicts to the curriculum.
        "prompt": {"template": "plain", "stop": list(string.printable)},
        # alpha 0.5, rho_t 0.6: rho after passes 0.5, 0.75 -> two passes (one step of n = 2) move a problem
        "curriculum": {"split_kinds": ["if", "elif", "for", "while"], "alpha": 0.5, "rho_threshold": 0.6},
        "sandbox": {"timeout_s": 2.0, "workers": 1, "preload": []},
        # no weight decay: with it AdamW would move every parameter whatever the gradients
        "ppo": {"minibatch_size": 4, "grad_accum": 1, "policy_lr": 1e-4, "critic_lr": 1e-4, "ppo_epochs": 1,
                "weight_decay": 0.0},
        "data": {"train_path": str(dead_tail_problems(tmp_path / "dead.jsonl"))},
        "training": {"steps": 3, "problems_per_step": 4, "save_every": 0, "output_dir": str(tmp_path / "run"),
                     "progress_bar": False, "tensorboard": False},
    })


def trainable(model) -> dict:
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


@pytest.mark.slow
def test_tiny_run_trains_every_parameter_and_moves_the_curriculum(tmp_path):
    import torch

    from stepcoder.trainer.ppo import PPOTrainer

    trainer = PPOTrainer(must_show_config(tmp_path))
    last = 2  # K - 1 = ceil(sqrt(DEAD_BLOCKS)) - 1 = 3 - 1: "auto" starts at the longest prefix
    assert trainer.curriculum.summary()["stage_counts"] == {str(last): 4}
    models = {"policy": trainer.policy.model, "critic": trainer.critic.model}
    before = {f"{m}.{n}": p.detach().clone() for m, model in models.items() for n, p in trainable(model).items()}
    trainer.train()

    after = {f"{m}.{n}": p.detach() for m, model in models.items() for n, p in trainable(model).items()}
    assert after.keys() == before.keys() and any(k.startswith("critic.") for k in after)
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert unchanged == []

    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    # Step 1 samples at the stage-2 prefix, a passing program: two passes (n = 2) move a
    # problem to stage 1, whose prefix passes too. A rare non-ASCII token survives the stops
    # and may fail a rollout, so the counts are bounds, not exact values.
    assert metrics[0]["pass_rate"] >= 0.75 and metrics[0]["curriculum/stage_2"] <= 1
    stages = [m["curriculum/mean_stage"] for m in metrics]
    assert stages == sorted(stages, reverse=True) and stages[-1] < 1.0  # down from 2.0, never back up
    final = trainer.curriculum.summary()["stage_counts"]
    assert str(last) not in final and final.get("0", 0) >= 2
    assert {s: metrics[-1][f"curriculum/stage_{s}"] for s in range(last + 1)} == {s: final.get(str(s), 0) for s in range(last + 1)}
    for m in metrics:  # peak memory and seconds of each step
        assert m["perf/peak_rss_mb"] > 0 and m["time/step"] > 0
    # the peak never falls, and a process holding two tiny models and torch is over 100 MiB
    assert [m["perf/peak_rss_mb"] for m in metrics] == sorted(m["perf/peak_rss_mb"] for m in metrics)
    assert metrics[0]["perf/peak_rss_mb"] > 100


# --- bad input: one line on stderr, exit 2, nothing written --------------------------------


def run_cli(capsys, *argv: str) -> str:
    """stderr of an in-process ``stepcoder ...`` that must fail with exit status 2."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors (an unknown option)
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.fixture
def earlier_run(tmp_path) -> Path:
    """A run directory holding an earlier run's metrics, which a failed command must not touch."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"step": 1, "reward_mean": 0.5}\n')
    return run


def assert_untouched(run: Path) -> None:
    assert sorted(p.name for p in run.iterdir()) == ["metrics.jsonl"]
    assert (run / "metrics.jsonl").read_text() == '{"step": 1, "reward_mean": 0.5}\n'


def test_missing_model_path(capsys, earlier_run, tmp_path):
    missing = str(tmp_path / "no-such-model")
    for command in ("train", "sft"):
        err = run_cli(capsys, command, "--config", "tiny", "--model.name_or_path", missing, "--output-dir", str(earlier_run))
        assert err.strip().startswith(f"stepcoder {command}: error: output folder {earlier_run} is not empty")
        err = run_cli(capsys, command, "--config", "tiny", "--model.name_or_path", missing, "--output-dir",
                      str(tmp_path / "fresh"))
        assert err.strip().startswith(f"stepcoder {command}: error: model.name_or_path {missing!r}: no such folder (a "
                                      "model folder, e.g. written by `stepcoder sft`")
    assert_untouched(earlier_run)


def test_dataset_without_tests(capsys, earlier_run, tmp_path):
    data = tmp_path / "untested.jsonl"
    data.write_text("".join(json.dumps({"id": f"p{i}", "prompt": "Print 1.", "solution": "print(1)\n", "tests": []}) + "\n"
                            for i in range(3)))
    # data is checked before anything is written: --overwrite empties a folder only after that
    for command, out, extra in (("train", tmp_path / "fresh", ()), ("sft", earlier_run, ("--overwrite",))):
        err = run_cli(capsys, command, "--config", "tiny", "--data.train_path", str(data), "--output-dir", str(out), *extra)
        assert err.startswith(f"stepcoder {command}: error: data.train_path {str(data)!r}: no usable training problem")
        assert "of 3 problems, 3 have no tests" in err and len(err.strip().splitlines()) == 1
    err = run_cli(capsys, "train", "--config", "tiny", "--data.train_path", str(tmp_path / "absent.jsonl"),
                  "--output-dir", str(tmp_path / "fresh"))
    assert f"data.train_path {str(tmp_path / 'absent.jsonl')!r}: no such file" in err
    assert_untouched(earlier_run)
    assert not (tmp_path / "fresh").exists()


def test_unknown_config_key(capsys, earlier_run, tmp_path):
    err = run_cli(capsys, "train", "--config", "tiny", "--ppo.minibach_size", "4", "--output-dir", str(earlier_run))
    assert err.strip() == "stepcoder train: error: unknown option --ppo.minibach_size (did you mean --ppo.minibatch_size?)"
    config = tmp_path / "typo.yaml"
    config.write_text("ppo:\n  minibach_size: 4\n")
    err = run_cli(capsys, "train", "--config", str(config), "--output-dir", str(earlier_run))
    assert err.startswith("stepcoder train: error: ") and len(err.strip().splitlines()) == 1
    assert "unknown key 'minibach_size' in section 'ppo' (did you mean 'minibatch_size'?)" in err
    assert_untouched(earlier_run)


def test_batch_size_that_does_not_divide(capsys, earlier_run):
    err = run_cli(capsys, "train", "--config", "tiny", "--ppo.minibatch_size", "5", "--training.problems_per_step", "3",
                  "--sampling.n", "4", "--output-dir", str(earlier_run))
    assert err.startswith("stepcoder train: error: ") and len(err.strip().splitlines()) == 1
    # the two numbers: the minibatch and the rollout batch 3 x 4 = 12 it does not divide
    assert "ppo.minibatch_size=5 must divide the rollout batch" in err and "= 3 x 4 = 12" in err
    assert_untouched(earlier_run)


def test_fresh_run_over_an_earlier_one(capsys, earlier_run):
    err = run_cli(capsys, "train", "--config", "tiny", "--output-dir", str(earlier_run))
    assert err.strip() == (f"stepcoder train: error: output folder {earlier_run} is not empty (metrics.jsonl): pass "
                           "--resume to continue it, --overwrite to replace it, or choose another folder")
    assert_untouched(earlier_run)
