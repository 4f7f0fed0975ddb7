"""Reading the run-directory and eval-directory files that reports are made from."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """All records of a JSONL file; a missing file is empty and a torn last line (a run
    killed mid-write) is skipped, so a report can be made of a run that is still going."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise ValueError(f"{path}, line {i + 1}: not valid JSON") from None
    return rows


def series(metrics: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """``(steps, values)`` of the steps that logged a finite value for ``key``."""
    xs, ys = [], []
    for i, row in enumerate(metrics):
        value = row.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            xs.append(row.get("step", i))
            ys.append(float(value))
    return xs, ys


def keys_with_prefix(metrics: list[dict[str, Any]], prefix: str) -> list[str]:
    """Metric keys starting with ``prefix`` in first-seen order."""
    seen: dict[str, None] = {}
    for row in metrics:
        for key in row:
            if key.startswith(prefix):
                seen.setdefault(key)
    return list(seen)


def run_name(run_dir: str | Path) -> str:
    """Short label of a run for legends: the folder name."""
    return Path(run_dir).resolve().name
