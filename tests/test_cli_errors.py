"""Every command turns bad input into one line on stderr naming the file, record/line and
field, exit status 2, no traceback; ``--debug`` shows the traceback. One case per command and
kind of bad input; each fails before any model loads (in-process ``stepcoder.cli.main``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stepcoder.cli import main

GOOD = {"id": "a", "prompt": "print one", "solution": "print(1)\n", "tests": [{"stdin": "", "stdout": "1\n"}]}


@pytest.fixture
def bad(tmp_path: Path) -> dict[str, Path]:
    """One file per kind of bad input (problem files and YAML configs)."""
    files = {
        "malformed": json.dumps(GOOD) + "\n" + '{"id": "b", "prompt": \n',
        "missing_field": json.dumps({k: v for k, v in GOOD.items() if k != "tests"}) + "\n",
        "wrong_type": json.dumps({**GOOD, "tests": "print(1)"}) + "\n",
        "empty": "",
        "good": json.dumps(GOOD) + "\n",
    }
    paths = {name: tmp_path / f"{name}.jsonl" for name in files}
    for name, text in files.items():
        paths[name].write_text(text)
    configs = {"empty_config": "\n  \n", "unknown_key": "ppo:\n  clip_rang: 0.2\n", "config_wrong_type": "ppo:\n  clip_range: big\n",
               "not_yaml": "ppo: [unclosed\n"}
    for name, text in configs.items():
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_text(text)
    paths["missing"] = tmp_path / "no-such-file.jsonl"
    return paths


# what the one line must name, per kind of bad problem file
EXPECTED = {
    "malformed": ["malformed.jsonl", "line 2", "not valid JSON"],
    "missing_field": ["missing_field.jsonl", "record 0", "'tests'", "missing"],
    "wrong_type": ["wrong_type.jsonl", "record 0", "'tests'", "expected list, got str"],
    "empty": ["empty.jsonl", "empty"],
    "missing": ["no-such-file.jsonl", "no such file"],
}
CONFIG_EXPECTED = {
    "empty_config": ["empty_config.yaml", "empty"],
    "unknown_key": ["unknown_key.yaml", "unknown key 'clip_rang'", "'ppo'", "did you mean 'clip_range'"],
    "config_wrong_type": ["config_wrong_type.yaml", "ppo.clip_range", "expected float"],
    "not_yaml": ["not_yaml.yaml", ", line ", "not valid YAML"],
}


def one_error_line(capsys, rc: int, command: str, expected: list[str]) -> str:
    captured = capsys.readouterr()
    assert rc == 2, captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert "Traceback" not in captured.err
    assert len([line for line in lines if "error:" in line]) == 1, captured.err
    line = lines[-1]
    assert line.startswith(f"stepcoder {command}: error: "), line
    for part in expected:
        assert part in line, (part, line)
    return line


def data_command(command: str, path: Path, tmp_path: Path) -> list[str]:
    """argv of ``command`` reading the problem file ``path``."""
    train = ["--config", "tiny", "--data.train_path", str(path)]
    return {
        "check": ["check", str(path), "--workers", "1"],
        "curriculum": ["curriculum", str(path)],
        "data-convert": ["data", "convert", str(path), str(tmp_path / "out.jsonl")],
        "data-info": ["data", "info", str(path)],
        "eval": ["eval", "--model", "tiny", "--data", str(path), "--output-dir", str(tmp_path / "eval")],
        "score": ["score", str(path), "--data", str(path)],
        "sft": ["sft", *train, "--output-dir", str(tmp_path / "sft")],
        "train": ["train", *train, "--output-dir", str(tmp_path / "run")],
        "demo": ["demo", *train, "--output-dir", str(tmp_path / "demo")],
    }[command]


DATA_COMMANDS = ("check", "curriculum", "data-convert", "data-info", "eval", "score", "sft", "train", "demo")


@pytest.mark.parametrize("kind", list(EXPECTED))
@pytest.mark.parametrize("command", DATA_COMMANDS)
def test_bad_problem_file_is_one_line(command, kind, bad, tmp_path, capsys):
    argv = data_command(command, bad[kind], tmp_path)
    if command == "score" and kind != "missing":  # the samples file is fine, the problem file is bad
        argv = ["score", str(bad["good"]), "--data", str(bad[kind])]
    one_error_line(capsys, main(argv), argv[0], EXPECTED[kind])
    # nothing was written by a command that failed on its input
    assert not any((tmp_path / name).exists() for name in ("out.jsonl", "eval", "sft", "run", "demo"))


@pytest.mark.parametrize("kind", list(CONFIG_EXPECTED))
@pytest.mark.parametrize("command", ("sft", "train", "demo"))
def test_bad_config_is_one_line(command, kind, bad, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main([command, "--config", str(bad[kind]), "--output-dir", str(out)])
    one_error_line(capsys, rc, command, CONFIG_EXPECTED[kind])
    assert not out.exists()


@pytest.mark.parametrize("command", ("sft", "train", "demo"))
def test_missing_config_and_missing_model(command, tmp_path, capsys):
    out = tmp_path / "out"
    one_error_line(capsys, main([command, "--config", str(tmp_path / "nope.yaml"), "--output-dir", str(out)]),
                   command, ["nope.yaml", "no such file"])
    one_error_line(capsys, main([command, "--config", "tiny", "--model.name_or_path", str(tmp_path / "no-model"),
                                 "--output-dir", str(out)]), command, ["model.name_or_path", "no-model", "no such folder"])
    assert not out.exists()


def test_eval_missing_model_is_one_line(bad, tmp_path, capsys):
    rc = main(["eval", "--model", "/nonexistent", "--data", str(bad["good"]), "--output-dir", str(tmp_path / "e")])
    one_error_line(capsys, rc, "eval", ["--model '/nonexistent'", "no such folder"])
    assert not (tmp_path / "e").exists()


def test_eval_bad_settings_are_one_line(bad, tmp_path, capsys):
    rc = main(["eval", "--model", "tiny", "--data", str(bad["good"]), "--output-dir", str(tmp_path / "e"), "--k", "5"])
    one_error_line(capsys, rc, "eval", ["pass@5 needs at least 5 samples"])


def test_check_programs_file_bad_line(bad, tmp_path, capsys):
    programs = tmp_path / "programs.jsonl"
    programs.write_text('{"id": "a", "program": "print(1)"}\n{"id": "a"\n')
    rc = main(["check", str(bad["good"]), "--programs", str(programs), "--workers", "1"])
    one_error_line(capsys, rc, "check", ["programs.jsonl", "line 2", "not valid JSON"])
    programs.write_text('{"id": "a", "program": 3}\n')
    rc = main(["check", str(bad["good"]), "--programs", str(programs), "--workers", "1"])
    one_error_line(capsys, rc, "check", ["programs.jsonl", "line 1", "'program'"])


def test_score_bad_samples_file(bad, tmp_path, capsys):
    samples = tmp_path / "samples.jsonl"
    samples.write_text('{"task_id": "a", "completion": "print(1)"}\n{"task_id": \n')
    rc = main(["score", str(samples), "--data", str(bad["good"])])
    one_error_line(capsys, rc, "score", ["samples.jsonl", "2"])


def test_report_of_a_folder_without_a_run(tmp_path, capsys):
    one_error_line(capsys, main(["report", str(tmp_path)]), "report", [str(tmp_path), "neither metrics.jsonl"])


def test_data_build_empty_and_missing_input(bad, tmp_path, capsys):
    out = tmp_path / "apps_plus.jsonl"
    one_error_line(capsys, main(["data", "build-apps-plus", str(bad["empty"]), str(out)]), "data", ["empty.jsonl", "empty"])
    one_error_line(capsys, main(["data", "build-apps-plus", str(bad["missing"]), str(out)]), "data",
                   ["no-such-file.jsonl", "no such file"])
    assert not out.exists()


def test_debug_shows_the_traceback(bad):
    for argv in (["--debug", "check", str(bad["empty"])], ["check", str(bad["empty"]), "--debug"]):
        proc = subprocess.run([sys.executable, "-m", "stepcoder", *argv], capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "Traceback" in proc.stderr and "ProblemFormatError" in proc.stderr


def test_the_command_line_and_its_help_import_no_torch():
    # every command module is imported to build the parser: what they import at module level
    # is paid by every command, so torch and matplotlib load only inside a command's run
    code = ("import sys, contextlib, io\n"
            "from stepcoder.cli import main\n"
            "for argv in (['--help'], ['train', '--help'], ['eval', '--help']):\n"
            "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "        main(argv)\n"
            "print(sorted(m for m in ('torch', 'transformers', 'matplotlib') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "[]"


def test_a_named_command_imports_only_its_own_module():
    """`stepcoder check ...` builds the check parser alone: the training commands' modules
    (and their config machinery) are not imported; `--debug` before the command still works."""
    code = ("import sys, contextlib, io\n"
            "from stepcoder.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--debug', 'check', '--help'])\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('stepcoder.commands.'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = set(proc.stdout.split())
    assert "stepcoder.commands.check" in loaded  # and its helpers, but no other command
    assert not loaded & {f"stepcoder.commands.{m}" for m in ("sft", "train", "eval", "demo", "ablate", "training_args")}
    from stepcoder.cli import build_parser

    every = build_parser()._subparsers._group_actions[0].choices
    assert set(every) == {"check", "curriculum", "data", "sft", "train", "eval", "score", "report", "demo", "ablate"}
    assert set(build_parser("check")._subparsers._group_actions[0].choices) == {"check"}
