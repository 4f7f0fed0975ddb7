"""Small Markdown builders shared by the run, eval and comparison reports."""

from __future__ import annotations

from typing import Any


def fmt(value: Any) -> str:
    """A table cell: floats with 4 significant digits, missing values as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table.

    >>> print(table(["a", "b"], [[1, 0.5]]))
    | a | b |
    |---|---|
    | 1 | 0.5 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def pass_at_k_table(pass_at_k: dict[str, dict[str, float]]) -> str:
    """Rows = difficulty (and Overall), columns = pass@k, values in percent as in the paper."""
    ks = sorted({k for row in pass_at_k.values() for k in row}, key=lambda s: int(s.split("@")[1]))
    rows = [[group] + [None if k not in row else percent(row[k]) for k in ks]
            for group, row in pass_at_k.items()]
    return table(["problems"] + [f"{k} (%)" for k in ks], rows)


def percent(fraction: float) -> str:
    """A fraction as a percentage with one decimal, as the paper's tables print it.

    >>> percent(0.361)
    '36.1'
    """
    return f"{100 * fraction:.1f}"


def image(title: str, rel_path: str) -> str:
    return f"![{title}]({rel_path})"
