"""PNG plots of training runs and evaluations (matplotlib, Agg backend: no display needed).

Each function writes one figure and returns its path, or ``None`` when the metrics it needs
were not logged (a feature that was off), so reports only link figures that exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from stepcoder.report.io import keys_with_prefix, series  # noqa: E402

VERDICT_ORDER = ("PASS", "WRONG_ANSWER", "RUNTIME_ERROR", "TIMEOUT", "MEMORY_LIMIT", "COMPILE_ERROR")
# Green for pass through to red for compile error, so the mix reads at a glance.
VERDICT_COLORS = ("#2ca02c", "#ffbf00", "#ff7f0e", "#9467bd", "#8c564b", "#d62728")
PHASES = ("generate", "execute", "reward", "logprobs", "advantages", "update")

Metrics = list[dict[str, Any]]


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _smooth(ys: list[float], window: int) -> np.ndarray:
    """Trailing moving average (shorter at the start), to show the trend of noisy rewards."""
    arr = np.asarray(ys, dtype=float)
    csum = np.cumsum(np.insert(arr, 0, 0.0))
    idx = np.arange(1, len(arr) + 1)
    lo = np.maximum(idx - window, 0)
    return (csum[idx] - csum[lo]) / (idx - lo)


def _line(ax: plt.Axes, xs: list[float], ys: list[float], label: str, color: str | None = None) -> None:
    window = max(1, len(ys) // 20)
    if window > 1:  # raw values faint, trend bold
        ax.plot(xs, ys, color=color, alpha=0.25, linewidth=1)
        ax.plot(xs, _smooth(ys, window), color=color, linewidth=2, label=f"{label} (mean of {window})")
    else:
        ax.plot(xs, ys, color=color, linewidth=2, marker="o" if len(ys) < 30 else None, label=label)


def plot_reward_pass(metrics: Metrics, path: Path) -> Path | None:
    """Mean reward (left axis) and pass rate (right axis) over steps."""
    rx, ry = series(metrics, "reward_mean")
    px, py = series(metrics, "pass_rate")
    if not ry and not py:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    handles = []
    if ry:
        _line(ax, rx, ry, "mean reward", "tab:blue")
        ax.set_ylabel("mean reward (-1 .. +1)", color="tab:blue")
        ax.set_ylim(-1.05, 1.05)
        handles += ax.get_legend_handles_labels()[0]
    if py:
        ax2 = ax.twinx() if ry else ax
        _line(ax2, px, py, "pass rate", "tab:green")
        ax2.set_ylabel("pass rate (fraction of rollouts)", color="tab:green")
        ax2.set_ylim(-0.02, 1.02)
        if ax2 is not ax:
            handles += ax2.get_legend_handles_labels()[0]
    ax.set_xlabel("training step")
    ax.set_title("Reward and pass rate of rollouts")
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, loc="upper left", fontsize=9)
    return _save(fig, path)


def _stacked(metrics: Metrics, keys: list[str], labels: list[str], colors, title: str, ylabel: str,
             path: Path, normalise: bool) -> Path | None:
    rows = [r for r in metrics if any(k in r for k in keys)]
    if not rows or not keys:
        return None
    xs = [r.get("step", i) for i, r in enumerate(rows)]
    ys = np.array([[float(r.get(k) or 0.0) for r in rows] for k in keys])
    if normalise:
        total = ys.sum(axis=0)
        ys = np.divide(ys, total, out=np.zeros_like(ys), where=total > 0)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.stackplot(xs, ys, labels=labels, colors=colors, alpha=0.85)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if normalise:
        ax.set_ylim(0, 1)
    ax.margins(x=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return _save(fig, path)


def plot_verdict_mix(metrics: Metrics, path: Path) -> Path | None:
    """Share of each verdict among the rollouts of each step (stacked area)."""
    present = set(keys_with_prefix(metrics, "verdict/"))
    order = [v for v in VERDICT_ORDER if f"verdict/{v}" in present]
    colors = [VERDICT_COLORS[VERDICT_ORDER.index(v)] for v in order]
    return _stacked(metrics, [f"verdict/{v}" for v in order], order, colors,
                    "Verdicts of rollouts", "fraction of rollouts", path, normalise=True)


def plot_curriculum(metrics: Metrics, path: Path) -> Path | None:
    """Number of problems at each CCCS stage over steps (stage 0 = no prefix given)."""
    keys = sorted(keys_with_prefix(metrics, "curriculum/stage_"), key=lambda k: int(k.rsplit("_", 1)[1]))
    labels = [f"stage {k.rsplit('_', 1)[1]}" + (" (no prefix)" if k.endswith("_0") else "") for k in keys]
    colors = plt.cm.viridis(np.linspace(0.9, 0.1, max(len(keys), 1)))
    return _stacked(metrics, keys, labels, colors, "CCCS curriculum: problems per stage",
                    "number of problems", path, normalise=False)


def plot_kl(metrics: Metrics, path: Path) -> Path | None:
    """Mean per-token KL(policy || reference) over steps."""
    xs, ys = series(metrics, "kl")
    if not ys:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    _line(ax, xs, ys, "KL(policy || reference)", "tab:purple")
    ax.set_xlabel("training step")
    ax.set_ylabel("mean KL per token (nats)")
    ax.set_title("Distance of the policy from the reference model")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    return _save(fig, path)


def plot_method(metrics: Metrics, path: Path) -> Path | None:
    """The method's own signals over steps: what CCCS gives (share of rollouts with a prefix
    and their compile-error rate), what FGO masks, and how far each update moves the policy
    (clip fraction, approximate KL between the old and new policy)."""
    panels = [
        ("CCCS and FGO", "fraction", [("cccs_prefixed_frac", "rollouts with a CCCS prefix"),
                                      ("cccs_prefixed_compile_error_rate", "compile errors among prefixed rollouts"),
                                      ("fgo/masked_fraction", "completion tokens masked by FGO")]),
        ("Policy movement per update", "value", [("policy/clip_frac", "clip fraction"),
                                                  ("policy/approx_kl", "approx. KL(old || new)")]),
    ]
    if not any(series(metrics, key)[1] for _, _, keys in panels for key, _ in keys):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (title, ylabel, keys) in zip(axes, panels):
        for key, label in keys:
            xs, ys = series(metrics, key)
            if ys:
                _line(ax, xs, ys, label)
        ax.set_xlabel("training step")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def plot_phase_times(metrics: Metrics, path: Path) -> Path | None:
    """Seconds spent in each phase of a step (stacked area), with the whole step's time."""
    logged = keys_with_prefix(metrics, "time/")
    keys = [f"time/{p}" for p in PHASES if f"time/{p}" in logged]
    keys += [k for k in logged if k not in keys and k != "time/step"]
    if not keys:
        return None
    rows = [r for r in metrics if any(k in r for k in keys)]
    xs = [r.get("step", i) for i, r in enumerate(rows)]
    ys = np.array([[float(r.get(k) or 0.0) for r in rows] for k in keys])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.stackplot(xs, ys, labels=[k.split("/", 1)[1] for k in keys], alpha=0.85)
    sx, sy = series(metrics, "time/step")
    if sy:
        ax.plot(sx, sy, color="black", linewidth=1.5, linestyle="--", label="whole step")
    ax.set_xlabel("training step")
    ax.set_ylabel("seconds")
    ax.set_title("Time per phase of a training step")
    ax.margins(x=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return _save(fig, path)


def plot_pass_at_k(pass_at_k: dict[str, dict[str, float]], path: Path, title: str) -> Path | None:
    """Grouped bars: one group per difficulty (and Overall), one bar per k, in percent."""
    groups = [g for g, row in pass_at_k.items() if row]
    ks = sorted({k for row in pass_at_k.values() for k in row}, key=lambda s: int(s.split("@")[1]))
    if not groups or not ks:
        return None
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(groups) + 2), 4.5))
    width = 0.8 / len(ks)
    x = np.arange(len(groups))
    for i, k in enumerate(ks):
        vals = [100 * pass_at_k[g].get(k, np.nan) for g in groups]
        bars = ax.bar(x + (i - (len(ks) - 1) / 2) * width, vals, width, label=k)
        ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
    ax.set_xticks(x, [g.capitalize() if g != "Overall" else g for g in groups])
    ax.set_ylabel("pass@k (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="metric", fontsize=9)
    return _save(fig, path)


def plot_runs_overlay(runs: dict[str, Metrics], path: Path) -> Path | None:
    """Mean reward and pass rate of several runs on shared axes (e.g. StepCoder vs ablations)."""
    panels = [(k, t) for k, t in (("reward_mean", "mean reward"), ("pass_rate", "pass rate"))
              if any(series(m, k)[1] for m in runs.values())]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    colors = plt.cm.tab10(np.arange(len(runs)) % 10)
    for ax, (key, label) in zip(axes[0], panels):
        for color, (name, metrics) in zip(colors, runs.items()):
            xs, ys = series(metrics, key)
            if ys:
                _line(ax, xs, ys, name, color)
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
        ax.set_title(f"{label.capitalize()} per run")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    return _save(fig, path)


def plot_before_after(groups: dict[str, tuple[float, float, int]], path: Path, title: str) -> Path | None:
    """Pass rate per group (a tiny family, or a difficulty) before and after training:
    where the gain comes from, and what got worse. ``groups``: name -> (before, after, n)."""
    if not groups:
        return None
    names = sorted(groups, key=lambda g: groups[g][1] - groups[g][0])
    ys = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.24 * len(names)))
    ax.barh(ys - 0.2, [100 * groups[g][0] for g in names], height=0.4, color="tab:gray", label="before")
    ax.barh(ys + 0.2, [100 * groups[g][1] for g in names], height=0.4, color="tab:green", label="after")
    ax.set_yticks(ys, [f"{g} ({groups[g][2]})" for g in names], fontsize=7)
    ax.set_xlabel("pass@1 (%)")
    ax.set_xlim(0, 100)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_ablation(rows: list[dict], path: Path) -> Path | None:
    """Held-out pass@1 per ablation variant: ours (mean over seeds, one dot per seed, error bar
    = standard deviation) beside the paper's Table 1 values (APPS+ Overall)."""
    if not rows:
        return None
    names = [r["variant"] for r in rows]
    fig, (ours_ax, paper_ax) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    xs = np.arange(len(rows))
    ours_ax.bar(xs, [100 * r["mean"] for r in rows], yerr=[100 * r["std"] for r in rows], color="tab:blue",
                alpha=0.75, capsize=4)
    for x, r in zip(xs, rows):
        ours_ax.scatter([x] * len(r["scores"]), [100 * s for s in r["scores"]], color="black", s=12, zorder=3)
    ours_ax.set_xticks(xs, names, rotation=25, ha="right", fontsize=8)
    ours_ax.set_ylabel("held-out pass@1 (%)")
    ours_ax.set_title("This implementation, tiny default (dots: seeds)")
    ours_ax.grid(axis="y", alpha=0.3)
    paper = [(n, r["paper"]) for n, r in zip(names, rows) if r["paper"] is not None]
    paper_ax.bar(np.arange(len(paper)), [v for _, v in paper], color="tab:gray", alpha=0.75)
    paper_ax.set_xticks(np.arange(len(paper)), [n for n, _ in paper], rotation=25, ha="right", fontsize=8)
    paper_ax.set_ylabel("APPS+ Overall pass@1 (%)")
    paper_ax.set_title("Paper, Table 1 (DeepSeek-Coder-Instruct-6.7B)")
    paper_ax.grid(axis="y", alpha=0.3)
    if paper:
        low = min(v for _, v in paper)
        paper_ax.set_ylim(low - 5, max(v for _, v in paper) + 2)
    return _save(fig, path)
