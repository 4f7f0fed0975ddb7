"""``stepcoder demo``: the whole method on the embedded tiny default, on CPU, in minutes:
SFT -> held-out eval (BEFORE) -> StepCoder PPO -> held-out eval (AFTER) -> the gain with its
paired bootstrap interval -> report. Interrupted? The same command with --resume continues."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    from stepcoder.trainer.cli_args import add_lazy_config_arguments, add_output_flags

    parser = subparsers.add_parser(
        "demo", help="SFT then StepCoder PPO on the tiny default, with held-out pass@1 before and after",
        description="Runs on the tiny preset unless --config says otherwise; prints "
                    "'held-out pass@1: BEFORE -> AFTER (+GAIN, 95% CI [LO, HI])'.")
    parser.add_argument("--output-dir", default="runs/demo", help="where every stage writes (default: runs/demo)")
    add_output_flags(parser, can_resume=True)
    add_lazy_config_arguments(parser)
    parser.set_defaults(func=run, config="tiny")


def run(args: argparse.Namespace) -> int:
    import logging
    import os

    import torch

    from stepcoder.output_dir import check_output_dir, empty_for_overwrite, restore_on_failure
    from stepcoder.trainer.cli_args import check_training_inputs, resolve_train_config

    if "OMP_NUM_THREADS" not in os.environ and not torch.cuda.is_available():
        # measured on a loaded 2-core machine: the whole tiny demo took 4.1 min with one thread
        # and 29 min with two (spinning threads fight for the cores); the tiny model gains
        # little from a second thread anyway. Set OMP_NUM_THREADS to choose otherwise.
        torch.set_num_threads(1)
    from stepcoder.trainer.demo import run_demo

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    cfg = resolve_train_config(args)
    # bad input fails before any stage runs and before the output folder is touched
    check_output_dir(args.output_dir, resume=args.resume, overwrite=args.overwrite, can_resume=True)
    check_training_inputs(cfg, heldout=True)
    empty_for_overwrite(args.output_dir, args.overwrite)
    with restore_on_failure(args.output_dir):
        run_demo(cfg, args.output_dir)
    return 0
