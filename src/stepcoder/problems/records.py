"""Reading raw records (dicts) from ``.json`` / ``.jsonl`` files, gzipped or not, and
checking their fields with errors that name the file, the record and the field."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from stepcoder.problems.types import ProblemFormatError

_MISSING = object()


def read_text(path: str | Path) -> str:
    """The file's text; ``.gz`` files are decompressed."""
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read()
    return path.read_text(encoding="utf-8")


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """All records of a file: a JSON list (``.json``) or one JSON object a line (``.jsonl``).

    The container is recognised by content (a JSON list starts with ``[``), so a
    single-line ``.json`` list or a ``.jsonl`` file with another extension both load.
    Record numbers in errors are 0-based positions in the file (the same numbers that
    become ids of records that have none); JSONL errors also give the 1-based line.
    """
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ProblemFormatError(str(path), None, None, f"invalid JSON list: {exc}") from exc
    else:
        records = _jsonl_records(path, text)
    for index, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise ProblemFormatError(str(path), index, None, f"expected a JSON object, got {type(rec).__name__}")
    return records


def _jsonl_records(path: str | Path, text: str) -> list[Any]:
    records: list[Any] = []
    # split on "\n" only: str.splitlines() also breaks at U+2028 and friends, which JSON
    # strings written with ensure_ascii=False may contain.
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue  # blank lines (often a trailing one) carry no record
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ProblemFormatError(str(path), len(records), None, f"line {line_no} is not valid JSON: {exc}") from exc
    return records


class RecordReader:
    """Typed access to the fields of one raw record, raising :class:`ProblemFormatError`.

    >>> RecordReader({"a": 1}, "f.jsonl", 0).get("a", int)
    1
    """

    def __init__(self, rec: dict[str, Any], path: str | Path, index: int):
        self.rec, self.path, self.index = rec, str(path), index

    def error(self, field_name: str | None, message: str) -> ProblemFormatError:
        return ProblemFormatError(self.path, self.index, field_name, message)

    def get(self, key: str, types: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        """The field's value, checked against ``types``; ``default`` when absent or null
        (a missing field without a default is an error)."""
        value = self.rec.get(key)
        if value is None:
            if default is _MISSING:
                raise self.error(key, "missing required field")
            return default
        if not isinstance(value, types) or isinstance(value, bool) and bool not in _as_tuple(types):
            raise self.error(key, f"expected {_type_names(types)}, got {type(value).__name__}")
        return value

    def record_id(self, key: str) -> str:
        """The record's id as a string; its position in the file when it has none."""
        value = self.get(key, (str, int), default=None)
        return str(self.index) if value is None else str(value)


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _type_names(types: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in _as_tuple(types))
