"""Several training runs side by side (e.g. StepCoder vs its ablations w/o CCCS, w/o FGO)."""

from __future__ import annotations

from pathlib import Path

from stepcoder.report.io import read_jsonl, run_name, series
from stepcoder.report.markdown import image, table
from stepcoder.report.plots import plot_runs_overlay

COMPARE_METRICS = ("reward_mean", "pass_rate", "kl", "curriculum/mean_prefix_fraction", "fgo/masked_fraction")


def _tail_mean(ys: list[float], frac: float = 0.1) -> float | None:
    """Mean of the last ``frac`` of the values: the end of a noisy curve, not its last point."""
    if not ys:
        return None
    n = max(1, round(len(ys) * frac))
    return sum(ys[-n:]) / n


def write_comparison(run_dirs: list[str | Path], out_dir: str | Path) -> Path:
    """Write ``comparison.md`` and ``plots/compare_reward_pass.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    runs = {}
    for d in run_dirs:
        name = run_name(d)
        while name in runs:  # two runs with the same folder name in different places
            name += "'"
        runs[name] = read_jsonl(Path(d) / "metrics.jsonl")
    rows = [[name, len(m)] + [_tail_mean(series(m, k)[1]) for k in COMPARE_METRICS] for name, m in runs.items()]
    plot = plot_runs_overlay(runs, out_dir / "plots" / "compare_reward_pass.png")
    lines = ["# Comparison of training runs", "",
             "Values are the mean over the last 10% of logged steps.", "",
             table(["run", "steps"] + list(COMPARE_METRICS), rows), ""]
    if plot is not None:
        lines += [image("reward and pass rate per run", str(plot.relative_to(out_dir))), ""]
    lines += ["Per-run reports: " + ", ".join(f"`{d}/report.md`" for d in run_dirs), ""]
    report = out_dir / "comparison.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
