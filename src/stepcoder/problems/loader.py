"""``load_problems``: any supported file -> ``list[Problem]``, and ``save_jsonl`` back."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from stepcoder.problems.apps import parse_apps
from stepcoder.problems.apps_plus import parse_apps_plus
from stepcoder.problems.humaneval import parse_humaneval
from stepcoder.problems.mbpp import parse_mbpp
from stepcoder.problems.native import parse_native
from stepcoder.problems.records import read_records
from stepcoder.problems.types import Problem, ProblemFormatError

Parser = Callable[[dict[str, Any], int, "str | Path"], Problem]

FORMATS: dict[str, Parser] = {
    "apps-plus": parse_apps_plus,
    "apps": parse_apps,
    "humaneval": parse_humaneval,
    "mbpp": parse_mbpp,
    "jsonl": parse_native,
}

# Keys that identify a format, checked in order on the first record (see detect_format).
_SIGNATURES: list[tuple[str, set[str]]] = [
    ("jsonl", {"prompt", "tests"}),
    ("apps-plus", {"canonical_solution", "inputs", "outputs"}),
    ("apps", {"question", "input_output"}),
    ("apps", {"question", "solutions"}),
    ("humaneval", {"task_id", "entry_point", "test"}),
    ("mbpp", {"task_id", "test_list"}),
]


def detect_format(path: str | Path) -> str:
    """Name of the format of ``path``, decided by the keys of its first record.

    Raises :class:`ProblemFormatError` for an empty file or unknown keys.
    """
    records = read_records(path)
    if not records:
        raise ProblemFormatError(str(path), None, None, "no records: cannot detect the format")
    return _format_of(path, records[0])


def load_problems(path: str | Path, format: str | None = None) -> list[Problem]:
    """All problems of ``path`` in file order; ``format`` forces one of :data:`FORMATS`.

    A malformed record raises :class:`ProblemFormatError` naming the file, the record
    (0-based) and the field; no record is skipped.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown problem format {format!r}; choose one of {sorted(FORMATS)}")
    records = read_records(path)
    if not records:
        return []
    parse = FORMATS[format or _format_of(path, records[0])]
    return [parse(rec, index, path) for index, rec in enumerate(records)]


def save_jsonl(problems: Iterable[Problem], path: str | Path) -> Path:
    """Write problems in the native JSONL format (gzipped when ``path`` ends in ``.gz``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(p.to_json(), ensure_ascii=False) + "\n" for p in problems)
    if path.suffix == ".gz":
        # mtime=0 keeps the bytes of a saved file deterministic.
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(lines.encode("utf-8"))
    else:
        path.write_text(lines, encoding="utf-8")
    return path


def _format_of(path: str | Path, first: dict[str, Any]) -> str:
    keys = set(first)
    for name, signature in _SIGNATURES:
        if signature <= keys:
            return name
    # the closest format names the field the record lacks (e.g. a native record without tests)
    name, signature = max(_SIGNATURES, key=lambda item: len(item[1] & keys) / len(item[1]))
    if signature & keys:
        missing = sorted(signature - keys)
        hint = f"pass format= (one of {sorted(FORMATS)}) if it is another format"
        raise ProblemFormatError(str(path), 0, missing[0], f"missing required field of the {name!r} format "
                                 f"(the record has {sorted(keys)}); {hint}")
    raise ProblemFormatError(
        str(path), 0, None, f"cannot detect the format from keys {sorted(keys)}; pass format= (one of {sorted(FORMATS)})"
    )
