"""The training and held-out problem sets named by a :class:`DataConfig`."""

from __future__ import annotations

from stepcoder.problems import Problem, load_problems
from stepcoder.trainer.ppo_config import DataConfig

TINY = "tiny"


def _resolve(path: str, split: str) -> str:
    if path == TINY:
        from stepcoder.data import tiny_dataset_path

        return str(tiny_dataset_path(split))
    return path


def load_train_problems(data: DataConfig) -> list[Problem]:
    """Training problems with a canonical solution (CCCS prefixes and SFT targets need one)."""
    problems = load_problems(_resolve(data.train_path, "train"), format=data.format)
    problems = [p for p in problems if p.solution and p.tests]
    if data.max_train_problems:
        problems = problems[: data.max_train_problems]
    if not problems:
        raise ValueError(f"no training problem with a solution and tests in {data.train_path!r}")
    return problems


def load_heldout_problems(data: DataConfig) -> list[Problem]:
    problems = load_problems(_resolve(data.heldout_path, "heldout"), format=data.format)
    problems = [p for p in problems if p.tests]
    return problems[: data.max_heldout_problems] if data.max_heldout_problems else problems
