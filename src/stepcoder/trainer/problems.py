"""The training and held-out problem sets named by a :class:`DataConfig`."""

from __future__ import annotations

from pathlib import Path

from stepcoder.data import tiny_dataset_path
from stepcoder.problems import Problem, load_problems
from stepcoder.trainer.ppo_config import DataConfig

TINY = "tiny"


def _resolve(path: str, split: str) -> str:
    if path == TINY:
        return str(tiny_dataset_path(split))
    return path


def load_train_problems(data: DataConfig) -> list[Problem]:
    """RL problems with a canonical solution (CCCS prefixes need one)."""
    return _load_solved(data, "train_path", "train")


def load_sft_problems(data: DataConfig) -> list[Problem]:
    """SFT demonstrations: ``data.sft_path``, else ``data.train_path``'s problems (for the
    bundled tiny data, its demonstration split: instances the RL problems do not share)."""
    return _load_solved(data, "sft_path" if data.sft_path else "train_path", "sft")


def _load_solved(data: DataConfig, key: str, tiny_split: str) -> list[Problem]:
    """The problems with tests and a solution in ``data.<key>`` (``tiny``: its ``tiny_split``)."""
    given = getattr(data, key)
    path = _resolve(given, tiny_split)
    if not Path(path).exists():
        raise FileNotFoundError(f"data.{key} {given!r}: no such file")
    loaded = load_problems(path, format=data.format)
    problems = [p for p in loaded if p.solution and p.tests]
    if not problems:
        untested = sum(not p.tests for p in loaded)
        unsolved = sum(not p.solution for p in loaded)
        raise ValueError(f"data.{key} {given!r}: no usable training problem: of {len(loaded)} problems, "
                         f"{untested} have no tests and {unsolved} no solution (PPO rewards need tests, CCCS "
                         "prefixes and SFT targets a solution)")
    return problems[: data.max_train_problems] if data.max_train_problems else problems


def load_heldout_problems(data: DataConfig) -> list[Problem]:
    problems = load_problems(_resolve(data.heldout_path, "heldout"), format=data.format)
    problems = [p for p in problems if p.tests]
    return problems[: data.max_heldout_problems] if data.max_heldout_problems else problems
