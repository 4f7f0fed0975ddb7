"""The resumable samples file of an eval directory.

Samples are appended to ``samples.jsonl`` and flushed after every batch, so a killed eval
loses at most the batch in flight; ``eval_config.json`` keeps the settings the samples were
made with, and a rerun with other settings is refused instead of mixing samples.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class EvalSettingsError(ValueError):
    """An eval directory already holds samples made with other settings."""


class SampleStore:
    """``samples.jsonl`` + ``eval_config.json`` of one eval directory."""

    def __init__(self, output_dir: str | Path):
        self.dir = Path(output_dir)
        self.samples_path = self.dir / "samples.jsonl"
        self.settings_path = self.dir / "eval_config.json"

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Record ``settings`` for a new directory; refuse a directory made with other ones."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.settings_path.exists():
            old = json.loads(self.settings_path.read_text(encoding="utf-8"))
            diff = {k: (old.get(k), settings.get(k)) for k in sorted(set(old) | set(settings))
                    if old.get(k) != settings.get(k)}
            if diff:
                lines = "\n".join(f"  {k}: {a!r} there, {b!r} now" for k, (a, b) in diff.items())
                raise EvalSettingsError(
                    f"{self.dir} holds samples made with other settings; resuming would mix them:\n"
                    f"{lines}\nuse another --output-dir, or delete {self.dir} to start over")
            return
        self.settings_path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")

    def load(self) -> list[dict[str, Any]]:
        """The samples written so far. A torn last line (killed mid-write) is cut off the
        file, so that the next append starts on a fresh line."""
        if not self.samples_path.exists():
            return []
        data = self.samples_path.read_bytes()
        records, good_end = [], 0
        for line in data.splitlines(keepends=True):
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("no newline")
                records.append(json.loads(line))
            except ValueError:
                if good_end + len(line) < len(data):
                    raise ValueError(f"{self.samples_path}: corrupt line {len(records) + 1}") from None
                break
            good_end += len(line)
        if good_end < len(data):
            with open(self.samples_path, "r+b") as fh:
                fh.truncate(good_end)
        return records

    def append(self, records: list[dict[str, Any]]) -> None:
        """Append ``records`` and push them to disk before returning."""
        with open(self.samples_path, "a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in records)
            fh.flush()
            os.fsync(fh.fileno())
