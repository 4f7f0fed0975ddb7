"""``stepcoder train``: PPO from execution feedback with StepCoder's CCCS and FGO."""

from __future__ import annotations

import argparse
import logging

from stepcoder.commands.training_args import (
    add_output_flags,
    add_train_config_arguments,
    check_training_inputs,
    resolve_train_config,
)
from stepcoder.output_dir import check_output_dir, empty_for_overwrite, restore_on_failure
from stepcoder.trainer.ablation import NO_CCCS, NO_FGO


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="PPO with CCCS + FGO (StepCoder)",
        description="Train with PPO rewarded by unit-test execution. Both --no-cccs and --no-fgo: vanilla PPO. "
                    "For several processes: torchrun --nproc_per_node N -m stepcoder train ... "
                    "or accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m stepcoder train ...")
    parser.add_argument("--output-dir", default=None, help="run directory (default: training.output_dir)")
    add_output_flags(parser, can_resume=True)
    parser.add_argument("--no-cccs", action="store_true", help="no curriculum: every prompt is plain generation (stage 0)")
    parser.add_argument("--no-fgo", action="store_true", help="no FGO: every completion token is in the policy loss")
    add_train_config_arguments(parser)
    parser.set_defaults(func=run)


def ablation_overrides(args: argparse.Namespace) -> dict[str, object]:
    """``section.field`` overrides implied by the shortcut flags."""
    overrides: dict[str, object] = {}
    if args.output_dir:
        overrides["training.output_dir"] = args.output_dir
    if args.no_cccs:
        overrides.update(NO_CCCS)
    if args.no_fgo:
        overrides.update(NO_FGO)
    return overrides


def run(args: argparse.Namespace) -> int:
    from stepcoder.trainer.ppo import PPOTrainer  # lazy: torch stays out of --help

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = resolve_train_config(args, **ablation_overrides(args))
    run_dir = cfg.training.output_dir
    # bad input fails here, before the run directory is touched
    check_output_dir(run_dir, resume=args.resume, overwrite=args.overwrite, can_resume=True)
    check_training_inputs(cfg)
    trainer = PPOTrainer(cfg)
    empty_for_overwrite(run_dir, args.overwrite and trainer.acc.is_main_process)
    trainer.acc.wait_for_everyone()  # every rank has checked the folder before rank 0 writes to it
    with restore_on_failure(run_dir):
        metrics = trainer.train(resume=args.resume)
    if trainer.acc.is_main_process:
        print(f"PPO done: step {metrics.get('step')} reward {metrics.get('reward_mean', float('nan')):.3f} "
              f"pass rate {metrics.get('pass_rate', float('nan')):.3f}; run directory {cfg.training.output_dir}")
    return 0
