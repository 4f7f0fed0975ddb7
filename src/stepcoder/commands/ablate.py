"""``stepcoder ablate``: the paper's ablation table (SFT only, vanilla PPO, StepCoder w/o CCCS,
w/o FGO, StepCoder, and the critic-free group mode) on a preset, several seeds, resumable."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stepcoder.commands.training_args import add_output_flags, add_train_config_arguments, start_pipeline
from stepcoder.output_dir import restore_on_failure
from stepcoder.trainer.ablation import REFERENCE, VARIANTS, run_ablation, write_results_page


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "ablate", help="StepCoder vs its ablations, several seeds; writes a results page with a plot",
        description="Per seed: one SFT model, then each RL variant from it, each measured on the held-out "
                    "problems. Interrupted? Run the same command with --resume.")
    parser.add_argument("--output-dir", default="runs/ablation", help="where every run writes (default: runs/ablation)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default: 0 1 2)")
    parser.add_argument("--variants", nargs="+", choices=[v.slug for v in VARIANTS], default=None,
                        help="only these variants (default: all)")
    parser.add_argument("--results", default=None,
                        help="also write the results page here (e.g. docs/results.md; its plot goes to img/ beside it)")
    add_output_flags(parser, can_resume=True)
    add_train_config_arguments(parser)
    parser.set_defaults(func=run, config="tiny")


def run(args: argparse.Namespace) -> int:
    variants = [v for v in VARIANTS if args.variants is None or v.slug in args.variants]
    if not any(v.name == REFERENCE for v in variants):  # checked before the folder is touched
        raise ValueError("--variants must include 'stepcoder': every difference is measured against it")
    cfg = start_pipeline(args)
    with restore_on_failure(args.output_dir):
        results = run_ablation(cfg, args.output_dir, args.seeds, variants)
    out = Path(args.output_dir)
    pages = [out / "results.md"] + ([Path(args.results)] if args.results else [])
    for page in pages:
        write_results_page(results, page, page.parent / "img" / "ablation.png",
                           settings=f"Preset `{args.config}`; command `stepcoder ablate --config {args.config} "
                                    f"--seeds {' '.join(map(str, args.seeds))}`.")
        print(f"wrote {page}")
    print(json.dumps({v: [round(s["pass_at_1"], 4) for s in e["seeds"].values()]
                      for v, e in results["variants"].items()}, indent=1))
    return 0
