"""``stepcoder sft``: supervised fine-tuning on canonical solutions (the paper's SFT baseline;
the tiny default's warm start). Saves a Hugging Face folder usable as ``model.name_or_path``."""

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


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sft", help="supervised fine-tuning on canonical solutions",
        description="Fine-tune model.name_or_path on the canonical solutions of data.sft_path (empty: data.train_path), in the prompt "
                    "format PPO samples from (prompt tokens masked out of the loss).")
    parser.add_argument("--output-dir", required=True, help="where the fine-tuned model folder is written")
    add_output_flags(parser, can_resume=False)
    add_train_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stepcoder.trainer.sft import run_sft  # lazy: torch stays out of --help

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = resolve_train_config(args)
    # every input is checked before the output folder is touched
    check_output_dir(args.output_dir, overwrite=args.overwrite)
    check_training_inputs(cfg, sft=True, rl=False)
    if cfg.sft.epochs == 0:
        raise ValueError(f"sft.epochs is 0: nothing to train (a preset that starts RL from a trained model, "
                         f"here {cfg.model.name_or_path!r}, sets it so); pass --sft.epochs N, or --config tiny-warm-start "
                         "for the recipe of the shipped tiny warm start")
    empty_for_overwrite(args.output_dir, args.overwrite)
    with restore_on_failure(args.output_dir):
        metrics = run_sft(cfg, args.output_dir)
    print(f"SFT done: final loss {metrics.get('loss', float('nan')):.4f}; model saved to {args.output_dir}")
    return 0
