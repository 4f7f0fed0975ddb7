"""``report.md`` and the pass@k bar chart of an eval directory (``eval.json``)."""

from __future__ import annotations

import json
from pathlib import Path

from stepcoder.report.markdown import image, pass_at_k_table, percent, table
from stepcoder.report.plots import plot_pass_at_k


def model_label(model: str) -> str:
    """Short model name for a plot title; a checkpoint keeps its step (``step-000100/policy``)."""
    parts = Path(model).parts
    return "/".join(parts[-2:]) if parts and parts[-1] == "policy" else (parts[-1] if parts else model)


def write_eval_report(eval_dir: str | Path) -> Path:
    """Write ``report.md`` and ``plots/pass_at_k.png`` from ``eval.json``; returns the report path."""
    eval_dir = Path(eval_dir)
    path = eval_dir / "eval.json"
    if not path.exists():
        raise FileNotFoundError(f"{eval_dir}: no eval.json (is it an eval directory?)")
    data = json.loads(path.read_text(encoding="utf-8"))
    title = (f"pass@k of {model_label(str(data.get('model')))} on {Path(str(data.get('data'))).name} "
             f"(n = {data.get('n')}, {data.get('num_problems')} problems)")
    plot = plot_pass_at_k(data["pass_at_k"], eval_dir / "plots" / "pass_at_k.png", title)
    by_verdict = data.get("by_verdict", {})
    total = sum(by_verdict.values()) or 1
    lines = [
        f"# Evaluation of `{data.get('model')}`", "",
        f"Data: `{data.get('data')}`, {data.get('num_problems')} problems, n = {data.get('n')} "
        f"samples per problem.", "",
        "## pass@k", "", pass_at_k_table(data["pass_at_k"]), "",
    ]
    if plot is not None:
        lines += [image("pass@k per difficulty", str(plot.relative_to(eval_dir))), ""]
    lines += ["## Verdicts of all samples", "",
              table(["verdict", "samples", "share (%)"],
                    [[v, c, percent(c / total)] for v, c in by_verdict.items()]), ""]
    if data.get("settings"):
        lines += ["## Settings", "", table(["setting", "value"], [[k, v] for k, v in data["settings"].items()]), ""]
    report = eval_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
