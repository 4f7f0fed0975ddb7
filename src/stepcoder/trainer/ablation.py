"""The paper's ablation (StepCoder Table 1 / §5.2) on any preset, several seeds, resumable:
SFT only, vanilla PPO, StepCoder w/o CCCS, StepCoder w/o FGO, StepCoder, and the critic-free
group-relative mode, each measured on the same held-out problems.

Per seed one SFT model is trained and shared by every RL variant (as in the paper, all start
from the same SFT checkpoint), so the variants differ only in their RL phase. Every stage
skips work that an interrupted run finished (``demo.sft_stage``/``ppo_stage``; evaluation
keeps its samples). Results go to ``results.json`` and a markdown page with a plot.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepcoder.eval import paired_bootstrap
from stepcoder.trainer.config import TrainConfig
from stepcoder.trainer.demo import EVAL_SAMPLES, heldout_eval, ppo_stage, sft_stage
from stepcoder.trainer.problems import load_heldout_problems


@dataclass(frozen=True)
class Variant:
    """One row of the ablation table."""

    name: str
    slug: str  # folder name
    overrides: dict[str, Any] | None  # ``section.field`` -> value over the preset; None = no RL
    paper_overall: float | None  # APPS+ Overall pass@1 in the paper's Table 1 (DeepSeek-Coder 6.7B)


# What "w/o CCCS" and "w/o FGO" mean, for the ablation and for `train --no-cccs/--no-fgo`
NO_CCCS: dict[str, Any] = {"curriculum.start_stage": 0}  # every prompt is plain generation
NO_FGO: dict[str, Any] = {"fgo.enabled": False}  # every completion token is in the policy loss

VARIANTS: tuple[Variant, ...] = (
    Variant("SFT only", "sft", None, 29.8),
    Variant("vanilla PPO", "vanilla-ppo", {**NO_CCCS, **NO_FGO}, 31.7),
    Variant("StepCoder w/o CCCS", "no-cccs", NO_CCCS, 34.6),
    Variant("StepCoder w/o FGO", "no-fgo", NO_FGO, 35.5),
    Variant("StepCoder", "stepcoder", {}, 36.1),
    Variant("StepCoder, group-relative (critic-free)", "group", {"ppo.advantage": "group"}, None),
)
REFERENCE = "StepCoder"


def with_overrides(cfg: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """A copy of ``cfg`` with ``section.field`` values replaced (validated again)."""
    sections: dict[str, dict[str, Any]] = {}
    for dotted, value in overrides.items():
        section, name = dotted.split(".", 1)
        sections.setdefault(section, {})[name] = value
    return dataclasses.replace(cfg, **{s: dataclasses.replace(getattr(cfg, s), **fields) for s, fields in sections.items()})


def run_ablation(cfg: TrainConfig, out_dir: str | Path, seeds: Sequence[int], variants: Sequence[Variant] = VARIANTS,
                 log=print) -> dict[str, Any]:
    """Train and evaluate every variant for every seed under ``out_dir``; returns (and writes
    to ``out_dir/results.json``) per variant and seed: held-out pass@1 and per-problem rates."""

    out = Path(out_dir)
    heldout = load_heldout_problems(cfg.data)
    results: dict[str, Any] = {"heldout_problems": len(heldout), "seeds": list(seeds), "variants": {}}
    # Greedy held-out pass@1 is a function of the model alone: a model every seed shares (the
    # warm start itself when sft.epochs is 0) is evaluated once, for the first seed.
    shared: dict[str, Any] = {}
    for seed in seeds:
        seed_cfg = with_overrides(cfg, {"training.seed": seed})
        seed_dir = out / f"seed-{seed}"
        log(f"[ablate] seed {seed}: SFT")
        sft = sft_stage(seed_cfg, seed_dir / "sft")
        for variant in variants:
            log(f"[ablate] seed {seed}: {variant.name}")
            model = sft if variant.overrides is None else ppo_stage(
                with_overrides(seed_cfg, variant.overrides), sft, seed_dir / variant.slug / "ppo")
            if str(model) in shared:
                measured = shared[str(model)]
            else:
                measured = heldout_eval(model, seed_cfg, seed_dir / variant.slug / "eval", heldout)
                if model == cfg.model.name_or_path and EVAL_SAMPLES == 1:
                    shared[str(model)] = measured
            entry = results["variants"].setdefault(variant.name, {"paper_overall": variant.paper_overall, "seeds": {}})
            entry["seeds"][str(seed)] = {"pass_at_1": measured.pass_at_1, "per_problem": measured.per_problem}
            log(f"[ablate] seed {seed}: {variant.name}: held-out pass@1 {measured.pass_at_1:.3f}")
        (out / "results.json").write_text(json.dumps(results) + "\n", encoding="utf-8")
    return results


def mean_per_problem(seed_entries: dict[str, Any]) -> dict[str, float]:
    """Per-problem pass rate averaged over seeds."""
    runs = [e["per_problem"] for e in seed_entries.values()]
    return {task: statistics.fmean(run[task] for run in runs) for task in runs[0]}


def summary_rows(results: dict[str, Any], reference: str = REFERENCE) -> list[dict[str, Any]]:
    """Per variant: mean and standard deviation over seeds of held-out pass@1, and the paired
    difference ``reference - variant`` (per-problem rates averaged over seeds, bootstrap over
    problems; ``vs_reference.gain`` > 0 means the reference is better)."""

    ref = mean_per_problem(results["variants"][reference]["seeds"])
    rows = []
    for name, entry in results["variants"].items():
        scores = [s["pass_at_1"] for s in entry["seeds"].values()]
        diff = None if name == reference else paired_bootstrap(mean_per_problem(entry["seeds"]), ref)
        rows.append({"variant": name, "mean": statistics.fmean(scores),
                     "std": statistics.stdev(scores) if len(scores) > 1 else 0.0, "seeds": len(scores),
                     "scores": scores, "paper": entry["paper_overall"], "vs_reference": diff})
    return rows


def write_results_page(results: dict[str, Any], path: str | Path, plot_path: str | Path, settings: str = "") -> Path:
    """A markdown page: the table (ours beside the paper's), paired differences, a plot."""
    from stepcoder.report.markdown import image, table  # lazy: matplotlib stays out of --help
    from stepcoder.report.plots import plot_ablation  # lazy: as above

    path, plot_path = Path(path), Path(plot_path)
    rows = summary_rows(results)
    plot_ablation(rows, plot_path)
    by_name = {r["variant"]: r for r in rows}
    table_rows = [[r["variant"], f"{100 * r['mean']:.1f} ± {100 * r['std']:.1f}",
                   ", ".join(f"{100 * s:.1f}" for s in r["scores"]),
                   "" if r["paper"] is None else f"{r['paper']:.1f}"] for r in rows]
    diff_rows = [[f"{REFERENCE} − {r['variant']}", f"{100 * r['vs_reference'].gain:+.1f}",
                  f"[{100 * r['vs_reference'].lo:.1f}, {100 * r['vs_reference'].hi:.1f}]",
                  "" if r["paper"] is None or by_name[REFERENCE]["paper"] is None
                  else f"{by_name[REFERENCE]['paper'] - r['paper']:+.1f}"]
                 for r in rows if r["vs_reference"] is not None]
    lines = [
        "# Ablation: StepCoder and its parts on the tiny default", "",
        f"Held-out pass@1 (%) on {results['heldout_problems']} problems, seeds {', '.join(map(str, results['seeds']))}; "
        "mean ± standard deviation over seeds. Paper: APPS+ Overall pass@1 of DeepSeek-Coder-Instruct-6.7B "
        "(Dou et al. 2024, Table 1), a different model and data set: compare orderings, not values.", "",
        table(["variant", "ours: pass@1 (%)", "per seed", "paper (APPS+ Overall)"], table_rows), "",
        f"Paired differences to {REFERENCE} (points; per-problem pass rates averaged over seeds, 95% paired "
        "bootstrap interval over problems; the interval holds the problem sampling noise, the per-seed figures "
        "above show the seed noise):", "",
        table(["difference", "ours", "95% CI", "paper"], diff_rows), "",
        image("Held-out pass@1 per variant", os.path.relpath(plot_path, path.parent)), "",
    ]
    lines += ["## Which of the paper's orderings hold here", "", *[f"- {s}" for s in ordering_statements(rows)], ""]
    if settings:
        lines += [settings, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def ordering_statements(rows: list[dict[str, Any]]) -> list[str]:
    """Plain words on each of the paper's orderings against ``REFERENCE`` (from the paired
    intervals): holds (interval above 0), same direction within noise, or reversed."""
    by_name = {r["variant"]: r for r in rows}
    ref = by_name.get(REFERENCE)
    out = []
    for r in rows:
        diff = r["vs_reference"]
        if diff is None or ref is None or r["paper"] is None or ref["paper"] is None:
            continue
        paper_better = ref["paper"] > r["paper"]
        ours, lo, hi = diff.gain, diff.lo, diff.hi  # REFERENCE minus this variant
        claim = f"{REFERENCE} {'>' if paper_better else '<'} {r['variant']} (paper: {ref['paper'] - r['paper']:+.1f} points)"
        if (ours > 0) == paper_better and (lo > 0 if paper_better else hi < 0):
            verdict = f"holds here: {100 * ours:+.1f} points, interval [{100 * lo:.1f}, {100 * hi:.1f}] excludes 0"
        elif (ours > 0) == paper_better:
            verdict = f"same direction but within noise here: {100 * ours:+.1f} points, interval [{100 * lo:.1f}, {100 * hi:.1f}]"
        else:
            verdict = f"does not hold here: {100 * ours:+.1f} points, interval [{100 * lo:.1f}, {100 * hi:.1f}]"
        out.append(f"{claim}: {verdict}.")
    return out
