"""Nothing is ever lost: one rule (``stepcoder.output_dir``) for every command that writes a
run or model folder. A non-empty folder is refused unless --resume (train, eval) or
--overwrite; --overwrite empties it only after every input is checked; a failed start leaves
the folder as it was."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from stepcoder.cli import main
from stepcoder.output_dir import (OutputExistsError, check_output_dir, check_output_file, empty_for_overwrite,
                                  restore_on_failure)

TINY_TRAIN = ["--config", "tiny", "--data.max_train_problems", "8", "--training.progress_bar", "false",
              "--training.tensorboard", "false"]


def occupied(tmp_path: Path, name: str = "out") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "model.safetensors").write_text("earlier work")
    return folder


# --- the rule ------------------------------------------------------------------------------


def test_absent_or_empty_folder_is_used(tmp_path):
    check_output_dir(tmp_path / "new")
    check_output_dir(tmp_path)  # empty


def test_non_empty_folder_is_refused_with_the_flags_that_apply(tmp_path):
    folder = occupied(tmp_path)
    with pytest.raises(OutputExistsError, match=r"not empty \(model.safetensors\): pass --overwrite to replace it"):
        check_output_dir(folder)
    with pytest.raises(OutputExistsError, match="pass --resume to continue it, --overwrite"):
        check_output_dir(folder, can_resume=True)
    with pytest.raises(OutputExistsError):  # --resume means nothing to a command that cannot resume
        check_output_dir(folder, resume=True)
    check_output_dir(folder, resume=True, can_resume=True)
    check_output_dir(folder, overwrite=True)
    with pytest.raises(ValueError, match="contradict"):
        check_output_dir(folder, resume=True, overwrite=True, can_resume=True)


def test_overwrite_empties_the_folder_and_keeps_it(tmp_path):
    folder = occupied(tmp_path)
    (folder / "sub").mkdir()
    (folder / "sub" / "f").write_text("x")
    empty_for_overwrite(folder, overwrite=False)
    assert len(list(folder.iterdir())) == 2
    empty_for_overwrite(folder, overwrite=True)
    assert folder.is_dir() and not list(folder.iterdir())


def test_overwrite_never_empties_the_working_folder(tmp_path, monkeypatch):
    work = occupied(tmp_path)
    monkeypatch.chdir(work)
    for target in (".", str(tmp_path)):
        with pytest.raises(OutputExistsError, match="working folder"):
            check_output_dir(target, overwrite=True)


def test_output_file_rule(tmp_path):
    path = tmp_path / "out.jsonl"
    check_output_file(path)
    path.write_text("x")
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        check_output_file(path)
    check_output_file(path, overwrite=True)


@pytest.mark.parametrize("existed", [False, True])
def test_failed_start_leaves_the_folder_as_it_was(tmp_path, existed):
    folder = tmp_path / "run"
    if existed:
        folder.mkdir()
    with pytest.raises(RuntimeError), restore_on_failure(folder):
        folder.mkdir(exist_ok=True)
        (folder / "config.yaml").write_text("x")
        (folder / "metrics.jsonl").write_text("")  # opened, nothing logged yet
        raise RuntimeError("failed to start")
    assert folder.exists() == existed and (not existed or not list(folder.iterdir()))


def test_failure_after_a_logged_step_keeps_the_results(tmp_path):
    folder = tmp_path / "run"
    with pytest.raises(RuntimeError), restore_on_failure(folder):
        folder.mkdir()
        (folder / "metrics.jsonl").write_text('{"step": 1}\n')
        raise RuntimeError("crashed at step 2")
    assert (folder / "metrics.jsonl").read_text() == '{"step": 1}\n'


def test_a_resumed_folder_is_never_cleaned(tmp_path):
    folder = occupied(tmp_path)
    with pytest.raises(RuntimeError), restore_on_failure(folder):
        raise RuntimeError("resume failed")
    assert (folder / "model.safetensors").exists()


# --- every command ----------------------------------------------------------------------------


def refused(capsys, rc: int, command: str, folder: Path, resumable: bool) -> None:
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert f"stepcoder {command}: error: output folder {folder} is not empty" in err
    assert ("--resume" in err) == resumable and "--overwrite" in err
    assert [p.name for p in folder.iterdir()] == ["model.safetensors"]  # untouched


@pytest.mark.parametrize("command,resumable", [("sft", False), ("train", True), ("demo", True)])
def test_training_commands_refuse_a_non_empty_folder(command, resumable, tmp_path, capsys):
    folder = occupied(tmp_path)
    refused(capsys, main([command, *TINY_TRAIN, "--output-dir", str(folder)]), command, folder, resumable)


def test_eval_refuses_a_non_empty_folder(tmp_path, capsys):
    folder = occupied(tmp_path)
    from stepcoder.data import tiny_dataset_path

    rc = main(["eval", "--model", "tiny", "--data", str(tiny_dataset_path("heldout")), "--output-dir", str(folder)])
    refused(capsys, rc, "eval", folder, resumable=True)


def test_data_convert_refuses_an_existing_file(tmp_path, capsys):
    from stepcoder.data import tiny_dataset_path

    out = tmp_path / "out.jsonl"
    out.write_text("earlier\n")
    assert main(["data", "convert", str(tiny_dataset_path("heldout")), str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err and out.read_text() == "earlier\n"
    assert main(["data", "convert", str(tiny_dataset_path("heldout")), str(out), "--overwrite"]) == 0
    assert out.read_text() != "earlier\n"


@pytest.mark.parametrize("command", ("sft", "train", "demo"))
def test_overwrite_with_bad_input_keeps_the_folder(command, tmp_path, capsys):
    folder = occupied(tmp_path)
    rc = main([command, *TINY_TRAIN, "--data.train_path", str(tmp_path / "missing.jsonl"), "--output-dir", str(folder),
               "--overwrite"])
    assert rc == 2 and "no such file" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["model.safetensors"]


@pytest.mark.parametrize("existed", [False, True])
def test_wandb_missing_is_a_failed_start_that_leaves_nothing(tmp_path, capsys, monkeypatch, existed):
    """The reported sequence: ``--training.wandb_project X`` without wandb, then the same
    command without the project: the second must not be refused."""
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb -> ImportError
    run = tmp_path / "run"
    if existed:
        run.mkdir()
    rc = main(["train", *TINY_TRAIN, "--training.wandb_project", "X", "--output-dir", str(run)])
    err = capsys.readouterr().err
    assert rc == 2 and "pip install 'stepcoder[wandb]'" in err and "Traceback" not in err
    assert run.exists() == existed and (not existed or not list(run.iterdir()))
    check_output_dir(run)  # the same command without wandb would be accepted


@pytest.mark.slow
def test_sft_failing_mid_start_leaves_no_folder(tmp_path, capsys):
    """SFT fails after it created its folder and metrics file (a batch larger than the data):
    the folder is removed again, so the corrected command is not refused."""
    out = tmp_path / "sft"
    rc = main(["sft", *TINY_TRAIN, "--sft.epochs", "1", "--sft.batch_size", "64", "--output-dir", str(out)])
    assert rc == 2 and "cannot fill one batch" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_sft_overwrite_replaces_an_earlier_model(tmp_path, capsys):
    out = occupied(tmp_path, "sft")
    rc = main(["sft", *TINY_TRAIN, "--sft.epochs", "0.25", "--sft.batch_size", "2", "--output-dir", str(out), "--overwrite"])
    assert rc == 0, capsys.readouterr().err
    assert not (out / "model.safetensors").read_bytes().startswith(b"earlier")
    assert (out / "config.json").is_file() and len((out / "metrics.jsonl").read_text().splitlines()) >= 1


@pytest.mark.slow
def test_eval_resume_and_overwrite(tmp_path, capsys):
    from stepcoder.data import tiny_dataset_path

    out = tmp_path / "eval"
    argv = ["eval", "--model", "tiny", "--data", str(tiny_dataset_path("heldout")), "--limit", "2",
            "--max-new-tokens", "4", "--output-dir", str(out), "--no-progress", "--prompt-template", "plain"]
    assert main(argv) == 0
    first = (out / "samples.jsonl").read_text()
    assert main(argv) == 2 and "--resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0 and (out / "samples.jsonl").read_text() == first  # nothing redone
    (out / "stray.txt").write_text("x")
    assert main([*argv, "--overwrite"]) == 0
    assert not (out / "stray.txt").exists() and (out / "samples.jsonl").read_text() == first
    assert json.loads((out / "eval.json").read_text())["num_samples"] == 2
