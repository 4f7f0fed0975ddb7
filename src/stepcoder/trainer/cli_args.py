"""Command-line plumbing shared by ``stepcoder sft``, ``train`` and ``demo``.

The ``--section.field`` flags are generated from :class:`TrainConfig`, whose sections import
torch indirectly; they are added only when the subcommand itself is parsed, so that
``stepcoder check`` and ``stepcoder --help`` stay fast.
"""

from __future__ import annotations

import argparse
import difflib
import types

# A user's mistake (a missing path, an unknown key, sizes that do not fit, an occupied output
# folder) surfaces as a ValueError or OSError while the config is read and the models load;
# ``stepcoder.cli.main`` turns it into one line on stderr and exit status 2.


def add_lazy_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` now and the generated config flags when ``parser`` first parses."""
    parser.add_argument("--config", metavar="FILE_OR_PRESET", default=None,
                        help="YAML config file or preset name (tiny, tiny-no-cccs, ...); flags override it")
    original = parser.parse_known_args

    def parse_known_args(self, args=None, namespace=None):
        if not getattr(self, "_config_flags_added", False):
            from stepcoder.config import add_config_arguments
            from stepcoder.trainer.config import TrainConfig

            add_config_arguments(self, TrainConfig)
            self._config_flags_added = True
        parsed, extras = original(args, namespace)
        _reject_misspelt_flags(self, extras)
        return parsed, extras

    parser.parse_known_args = types.MethodType(parse_known_args, parser)


def resolve_train_config(args: argparse.Namespace, **overrides):
    """The run's TrainConfig from ``--config`` + flags, then command-specific overrides
    given as ``section.field=value`` keyword pairs (e.g. ``{"training.output_dir": d}``)."""
    from stepcoder.config import parse_config
    from stepcoder.trainer.config import TrainConfig, resolve_config_path

    ns = argparse.Namespace(**vars(args))
    for dotted, value in overrides.items():
        setattr(ns, dotted, value)
    return parse_config(TrainConfig, ns, config_path=resolve_config_path(args.config))


def _reject_misspelt_flags(parser: argparse.ArgumentParser, extras: list[str]) -> None:
    """An unknown ``--flag`` close to a known one is an error naming the likely flag
    (argparse alone says only "unrecognized arguments")."""
    known = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    for extra in extras:
        flag = extra.split("=", 1)[0]
        guess = difflib.get_close_matches(flag, known, n=1) if flag.startswith("--") else []
        if guess:
            # no usage dump: the generated config flags make it hundreds of lines long
            parser.exit(2, f"{parser.prog}: error: unknown option {flag} (did you mean {guess[0]}?)\n")


def check_model_paths(model) -> None:
    """Fail before anything loads when ``model.name_or_path`` (or the critic's) names a local
    folder that does not exist (see :func:`stepcoder.models.paths.check_model_name`)."""
    from stepcoder.models.paths import check_model_name

    for key in ("name_or_path", "critic_name_or_path"):
        value = getattr(model, key, None)
        if value:
            check_model_name(value, f"model.{key}")


def check_training_inputs(cfg, heldout: bool = False) -> None:
    """Everything a training command reads, checked before its output folder is touched: the
    model paths, the training (and held-out) problems, and the optional packages asked for."""
    from stepcoder.trainer.distributed import check_launch
    from stepcoder.trainer.metrics_logger import check_wandb
    from stepcoder.trainer.problems import load_heldout_problems, load_train_problems

    check_launch()
    check_model_paths(cfg.model)
    load_train_problems(cfg.data)
    if heldout and not load_heldout_problems(cfg.data):
        raise ValueError(f"data.heldout_path {cfg.data.heldout_path!r}: no held-out problem with tests")
    check_wandb(cfg.training.wandb_project)


def start_pipeline(args: argparse.Namespace):
    """The start shared by the commands that run whole pipelines in one folder (``demo``,
    ``ablate``): one torch thread on CPU, the config, every input checked, then the output
    folder checked and (``--overwrite``) emptied. Returns the config."""
    import logging
    import os

    import torch

    from stepcoder.output_dir import check_output_dir, empty_for_overwrite

    if "OMP_NUM_THREADS" not in os.environ and not torch.cuda.is_available():
        # measured on a loaded 2-core machine: the whole tiny demo took 4.1 min with one thread
        # and 29 min with two (spinning threads fight for the cores); the tiny model gains
        # little from a second thread anyway. Set OMP_NUM_THREADS to choose otherwise.
        torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    cfg = resolve_train_config(args)
    # bad input fails before any stage runs and before the output folder is touched
    check_output_dir(args.output_dir, resume=args.resume, overwrite=args.overwrite, can_resume=True)
    check_training_inputs(cfg, heldout=True)
    empty_for_overwrite(args.output_dir, args.overwrite)
    return cfg


def add_output_flags(parser: argparse.ArgumentParser, can_resume: bool) -> None:
    """``--overwrite`` (and ``--resume`` where the command can continue its own work): the
    flags of the one output-folder rule, ``stepcoder.output_dir``."""
    if can_resume:
        parser.add_argument("--resume", action="store_true",
                            help="continue the work already in the output folder")
    parser.add_argument("--overwrite", action="store_true",
                        help="empty a non-empty output folder first (after every input has been checked)")
