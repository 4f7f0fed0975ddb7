"""`stepcoder eval`: sample programs from a model on a problem file, run them, report pass@k."""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from stepcoder.commands.inputs import require_problems
from stepcoder.eval import evaluate
from stepcoder.eval.checkpoint import resolve_eval_model
from stepcoder.eval.config import EvalConfig
from stepcoder.models.paths import check_model_name
from stepcoder.output_dir import check_output_dir, empty_for_overwrite, restore_on_failure

# Flags whose names on the command line differ from the field names.
FLAG_NAMES = {"n_samples": "--n-samples"}
REQUIRED = ("model", "data")


def parse_k(text: str) -> tuple[int, ...]:
    """``"1,10"`` -> ``(1, 10)``."""
    return tuple(int(part) for part in text.split(",") if part.strip())


def _arg_type(hint: Any):
    """The argparse type of a field annotation (``float | None`` -> float)."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(a for a in get_args(hint) if a is not type(None))
    return hint


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per EvalConfig field, its help from the field metadata."""

    hints = typing.get_type_hints(EvalConfig)
    for f in dataclasses.fields(EvalConfig):
        flag = FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-"))
        help_text = f.metadata.get("help", "")
        if f.name == "k":
            parser.add_argument(flag, type=parse_k, default=f.default, help=help_text + f" (default: {f.default})")
        elif hints[f.name] is bool:
            parser.add_argument(flag, action="store_true", help=help_text)
        else:
            required = f.name in REQUIRED
            parser.add_argument(flag, type=_arg_type(hints[f.name]), default=None if required else f.default,
                                required=required, help=help_text + ("" if required else f" (default: {f.default})"))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="sample, execute and score a model on a problem file (pass@k; resumable)",
        description="Make --n-samples samples per problem, run them in the sandbox and report pass@k "
        "per difficulty. Samples go to OUTPUT_DIR/samples.jsonl as they are made: rerun the same "
        "command with --resume to continue a killed eval.")
    add_config_arguments(p)
    p.add_argument("--output-dir", required=True, help="folder for samples.jsonl, eval.json, report.md, plots/")
    p.add_argument("--resume", action="store_true", help="continue the eval already in the output folder (same settings)")
    p.add_argument("--overwrite", action="store_true", help="empty a non-empty output folder first")
    p.add_argument("--dtype", default="float32", help="weight dtype: float32, bfloat16 or auto")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    names = {f.name for f in dataclasses.fields(EvalConfig)}
    cfg = EvalConfig(**{k: v for k, v in vars(args).items() if k in names})
    check_output_dir(args.output_dir, resume=args.resume, overwrite=args.overwrite, can_resume=True)
    check_model_name(cfg.model, "--model")
    problems = require_problems(cfg.data, cfg.format, "--data")
    model_path = resolve_eval_model(cfg.model)
    if Path(cfg.model).is_dir():  # record the checkpoint, so a newer one is not mixed in on resume
        cfg.model = model_path
    from stepcoder.models import ModelConfig, load_policy, load_tokenizer  # lazy: torch stays out of --help
    from stepcoder.plumbing.progress import library_progress_bars

    if args.no_progress:
        library_progress_bars(False)
    model_cfg = ModelConfig(name_or_path=model_path, dtype=args.dtype)
    tokenizer, model = load_tokenizer(model_cfg), load_policy(model_cfg)
    model.eval()
    empty_for_overwrite(args.output_dir, args.overwrite)
    with restore_on_failure(args.output_dir):
        result = evaluate(model, tokenizer, problems, cfg, args.output_dir, progress=not args.no_progress)
    print(json.dumps({"pass_at_k": result.pass_at_k, "by_verdict": result.by_verdict}, indent=2))
    print(f"wrote {result.output_dir / 'eval.json'} and {result.output_dir / 'report.md'}")
    return 0
