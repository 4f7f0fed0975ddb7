"""``report.md`` and plots of one training run, read from the run-directory contract:
``config.yaml``, ``metrics.jsonl`` (one flat JSON object per step) and ``samples.jsonl``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stepcoder.report import plots
from stepcoder.report.fgo_view import render_fgo_sample
from stepcoder.report.io import read_jsonl, run_name, series
from stepcoder.report.markdown import image, table

# The figures worth comparing between the first and the last step, in report order.
KEY_METRICS = (
    "reward_mean", "pass_rate", "kl", "entropy", "curriculum/mean_prefix_fraction",
    "cccs_prefixed_frac", "cccs_prefixed_compile_error_rate",
    "fgo/masked_fraction", "policy/clip_frac", "policy/approx_kl", "policy/loss", "value/loss", "value/explained_variance",
    "perf/tokens_per_s", "time/step",
)
RUN_PLOTS = (
    ("reward_pass.png", "Reward and pass rate", plots.plot_reward_pass),
    ("verdicts.png", "Verdict mix", plots.plot_verdict_mix),
    ("curriculum.png", "Curriculum stages", plots.plot_curriculum),
    ("kl.png", "KL to the reference", plots.plot_kl),
    ("method.png", "CCCS, FGO and policy movement", plots.plot_method),
    ("time_per_phase.png", "Time per phase", plots.plot_phase_times),
)


def write_run_plots(metrics: list[dict[str, Any]], plot_dir: Path) -> list[tuple[str, Path]]:
    """Every run plot whose metrics were logged: ``(title, path)``."""
    made = []
    for name, title, fn in RUN_PLOTS:
        path = fn(metrics, plot_dir / name)
        if path is not None:
            made.append((title, path))
    return made


def key_figures(metrics: list[dict[str, Any]]) -> str:
    """Table of the key metrics at the first and the last step, plus their best value."""
    rows = []
    for key in KEY_METRICS:
        xs, ys = series(metrics, key)
        if ys:
            best = max(ys) if key in ("reward_mean", "pass_rate") else None
            rows.append([key, ys[0], ys[-1], best])
    first = metrics[0].get("step", 0) if metrics else None
    last = metrics[-1].get("step", len(metrics) - 1) if metrics else None
    return table(["metric", f"first step ({first})", f"last step ({last})", "best"], rows)


def sample_section(samples: list[dict[str, Any]], per_end: int = 2) -> str:
    """A few sampled programs of the first and the last logged step, with their verdicts."""
    if not samples:
        return "_No sampled programs were logged._"
    steps = sorted({s.get("step", 0) for s in samples})
    chosen = [s for s in samples if s.get("step", 0) == steps[0]][:per_end]
    if steps[-1] != steps[0]:
        chosen += [s for s in samples if s.get("step", 0) == steps[-1]][:per_end]
    parts = []
    for s in chosen:
        head = (f"**step {s.get('step')}**, problem `{s.get('problem_id')}`, stage {s.get('stage')}, "
                f"verdict **{s.get('verdict')}**, reward {s.get('reward')}")
        if s.get("fgo_masked_fraction") is not None:
            head += f", FGO masked {100 * s['fgo_masked_fraction']:.0f}% of tokens"
        parts.append(head)
        if s.get("prefix"):
            parts.append("Given prefix (CCCS):\n\n```python\n" + s["prefix"].rstrip() + "\n```")
        parts.append("Generated:\n\n```python\n" + (s.get("completion") or "").rstrip() + "\n```")
    return "\n\n".join(parts)


def fgo_section(samples: list[dict[str, Any]]) -> str | None:
    """One logged sample's completion with its FGO-masked tokens in ``[[ ]]``: the last one
    with a masked token, else the last one with a mask; ``None`` when no sample has a mask."""
    with_mask = [s for s in samples if s.get("completion_tokens") is not None and s.get("fgo_mask") is not None
                 and len(s["completion_tokens"]) == len(s["fgo_mask"])]
    if not with_mask:
        return None
    s = ([s for s in with_mask if 0 in s["fgo_mask"]] or with_mask)[-1]
    masked = len(s["fgo_mask"]) - sum(s["fgo_mask"])
    head = (f"Step {s.get('step')}, problem `{s.get('problem_id')}`, verdict **{s.get('verdict')}**: "
            f"{masked} of {len(s['fgo_mask'])} completion tokens left out of the policy loss, shown in `[[ ]]`.")
    return head + "\n\n```text\n" + render_fgo_sample(s).rstrip() + "\n```"


def write_run_report(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write ``report.md`` and ``plots/*.png`` of a training run; returns the report path."""
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir else run_dir
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    if not metrics:
        raise FileNotFoundError(f"{run_dir}: no metrics.jsonl (is it a training run directory?)")
    made = write_run_plots(metrics, out_dir / "plots")
    step_time = sum(series(metrics, "time/step")[1])
    timing = f", {step_time / 60:.1f} min of step time" if step_time else ""
    lines = [f"# Training run `{run_name(run_dir)}`", "",
             f"{len(metrics)} logged steps{timing}; config: `config.yaml`.", "",
             "## Key figures", "", key_figures(metrics), "", "## Plots", ""]
    for title, path in made:
        lines += [f"### {title}", "", image(title, str(path.relative_to(out_dir))), ""]
    samples = read_jsonl(run_dir / "samples.jsonl")
    lines += ["## Sampled programs", "", sample_section(samples), ""]
    fgo = fgo_section(samples)
    if fgo is not None:
        lines += ["## FGO mask of one sample", "", fgo, ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
