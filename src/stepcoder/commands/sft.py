"""``stepcoder sft``: supervised fine-tuning on canonical solutions (the paper's SFT baseline;
the tiny default's warm start). Saves a Hugging Face folder usable as ``model.name_or_path``."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    from stepcoder.trainer.cli_args import add_lazy_config_arguments

    parser = subparsers.add_parser(
        "sft", help="supervised fine-tuning on canonical solutions",
        description="Fine-tune model.name_or_path on the canonical solutions of data.train_path, in the prompt "
                    "format PPO samples from (prompt tokens masked out of the loss).")
    parser.add_argument("--output-dir", required=True, help="where the fine-tuned model folder is written")
    add_lazy_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from stepcoder.trainer.cli_args import check_model_paths, resolve_train_config, user_errors
    from stepcoder.trainer.problems import load_train_problems
    from stepcoder.trainer.sft import run_sft

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = resolve_train_config(args)
    # bad input fails here, before the output folder's earlier metrics are emptied
    with user_errors("sft"):
        check_model_paths(cfg.model)
        load_train_problems(cfg.data)
    metrics = run_sft(cfg, args.output_dir)
    print(f"SFT done: final loss {metrics.get('loss', float('nan')):.4f}; model saved to {args.output_dir}")
    return 0
