"""Reading a command's problem file: a missing file, an empty one and a malformed record are
all errors naming the file (and record, line and field), never an empty result."""

from __future__ import annotations

from pathlib import Path

from stepcoder.problems import ProblemFormatError, load_problems


def require_problems(path: str, format: str | None = None, flag: str = "data") -> list:
    """Every problem of ``path``; raises FileNotFoundError or ProblemFormatError (a ValueError)."""

    if not Path(path).is_file():
        raise FileNotFoundError(f"{flag} {path!r}: no such file")
    problems = load_problems(path, format)
    if not problems:
        raise ProblemFormatError(str(path), None, None, "no records: the file is empty")
    return problems
