"""`stepcoder report RUN_DIR [RUN_DIR ...] [--out DIR]`: regenerate reports and plots."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="write report.md and plots of training runs or eval directories",
        description="Regenerate report.md + plots/*.png of each training run (metrics.jsonl) or "
        "eval directory (eval.json). With several training runs, also write a side-by-side "
        "comparison (comparison.md + an overlay plot of reward and pass rate).",
    )
    p.add_argument("dirs", nargs="+", metavar="RUN_DIR", help="training run or eval directories")
    p.add_argument("--out", default=None, help="folder for the comparison of several runs "
                   "(default: the first run's parent folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stepcoder.report import write_comparison, write_eval_report, write_run_report  # lazy: matplotlib stays out of --help

    train_runs = []
    for d in map(Path, args.dirs):
        if (d / "metrics.jsonl").exists():
            print(f"wrote {write_run_report(d)}")
            train_runs.append(d)
        elif (d / "eval.json").exists():
            print(f"wrote {write_eval_report(d)}")
        else:
            raise FileNotFoundError(f"{d} holds neither metrics.jsonl (a training run) nor eval.json (an eval)")
    if len(train_runs) > 1:
        out = Path(args.out) if args.out else train_runs[0].resolve().parent
        print(f"wrote {write_comparison(train_runs, out)}")
    return 0
