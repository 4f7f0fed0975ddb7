"""``stepcoder demo``: the whole method on the embedded tiny default, on CPU, in minutes:
eval -> SFT -> eval (BEFORE) -> StepCoder PPO -> eval (AFTER) -> run report."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    from stepcoder.trainer.cli_args import add_lazy_config_arguments

    parser = subparsers.add_parser(
        "demo", help="SFT then StepCoder PPO on the tiny default, with held-out pass@1 before and after",
        description="Runs on the tiny preset unless --config says otherwise; prints 'held-out pass@1: BEFORE -> AFTER'.")
    parser.add_argument("--output-dir", default="runs/demo", help="where every stage writes (default: runs/demo)")
    add_lazy_config_arguments(parser)
    parser.set_defaults(func=run, config="tiny")


def run(args: argparse.Namespace) -> int:
    import logging
    import os

    import torch

    from stepcoder.trainer.cli_args import check_model_paths, resolve_train_config, user_errors

    if "OMP_NUM_THREADS" not in os.environ and not torch.cuda.is_available():
        # measured on a loaded 2-core machine: the whole tiny demo took 4.1 min with one thread
        # and 29 min with two (spinning threads fight for the cores); the tiny model gains
        # little from a second thread anyway. Set OMP_NUM_THREADS to choose otherwise.
        torch.set_num_threads(1)
    from stepcoder.trainer.demo import run_demo

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    cfg = resolve_train_config(args)
    with user_errors("demo"):  # a bad model path fails before any stage runs
        check_model_paths(cfg.model)
    run_demo(cfg, args.output_dir)
    return 0
