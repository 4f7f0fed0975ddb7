"""``stepcoder demo``: the whole method on the embedded tiny default, on CPU, in minutes:
SFT -> held-out eval (BEFORE) -> StepCoder PPO -> held-out eval (AFTER) -> the gain with its
paired bootstrap interval -> report. Interrupted? The same command with --resume continues."""

from __future__ import annotations

import argparse

from stepcoder.commands.training_args import add_output_flags, add_train_config_arguments, start_pipeline
from stepcoder.output_dir import restore_on_failure
from stepcoder.trainer.demo import run_demo


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="SFT then StepCoder PPO on the tiny default, with held-out pass@1 before and after",
        description="Runs on the tiny preset unless --config says otherwise; prints "
                    "'held-out pass@1: BEFORE -> AFTER (+GAIN, 95% CI [LO, HI])'.")
    parser.add_argument("--output-dir", default="runs/demo", help="where every stage writes (default: runs/demo)")
    add_output_flags(parser, can_resume=True)
    add_train_config_arguments(parser)
    parser.set_defaults(func=run, config="tiny")


def run(args: argparse.Namespace) -> int:
    cfg = start_pipeline(args)
    with restore_on_failure(args.output_dir):
        run_demo(cfg, args.output_dir)
    return 0
