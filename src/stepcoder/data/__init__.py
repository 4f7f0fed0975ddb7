"""Bundled datasets and dataset building (the APPS+ pipeline)."""

from __future__ import annotations

from pathlib import Path

TINY_SPLITS = ("sft", "train", "heldout", "ood")


def tiny_dataset_path(split: str) -> Path:
    """Path of the bundled tiny dataset's ``sft`` (demonstrations), ``train`` (RL problems),
    ``heldout`` or ``ood`` (out-of-family) split (native JSONL)."""
    if split not in TINY_SPLITS:
        raise ValueError(f"unknown tiny split {split!r}; choose one of {TINY_SPLITS}")
    return Path(__file__).resolve().parent / "tiny" / f"{split}.jsonl"
