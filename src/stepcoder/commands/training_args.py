"""What the training commands (``sft``, ``train``, ``demo``, ``ablate``) share on the command
line: the ``--config`` preset and the ``--section.field`` flags generated from
:class:`TrainConfig`, the run's config, and the checks of every input before an output folder
is touched.

A user's mistake (a missing path, an unknown key, sizes that do not fit, an occupied output
folder) surfaces as a ValueError or OSError while the config is read and the models load;
``stepcoder.cli.main`` turns it into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import os

from stepcoder.config import ConfigArgumentParser, parse_config
from stepcoder.models.paths import check_model_name
from stepcoder.output_dir import check_output_dir, empty_for_overwrite
from stepcoder.plumbing.metrics_logger import check_wandb
from stepcoder.trainer.config import TrainConfig, resolve_config_path
from stepcoder.trainer.problems import load_heldout_problems, load_sft_problems, load_train_problems


def add_train_config_arguments(parser: ConfigArgumentParser) -> None:
    """Add ``--config`` now and the flags generated from :class:`TrainConfig` when ``parser``
    is the one parsed (they are hundreds: ``stepcoder --help`` and the other commands do not
    build them)."""
    parser.add_argument("--config", metavar="FILE_OR_PRESET", default=None,
                        help="YAML config file or preset name (tiny, tiny-no-cccs, ...); flags override it")
    parser.add_config_arguments_on_parse(TrainConfig)


def resolve_train_config(args: argparse.Namespace, **overrides) -> TrainConfig:
    """The run's TrainConfig from ``--config`` + flags, then command-specific overrides
    given as ``section.field=value`` keyword pairs (e.g. ``{"training.output_dir": d}``)."""
    ns = argparse.Namespace(**vars(args))
    for dotted, value in overrides.items():
        setattr(ns, dotted, value)
    cfg = parse_config(TrainConfig, ns, config_path=resolve_config_path(args.config))
    if not cfg.training.progress_bar:
        from stepcoder.plumbing.progress import library_progress_bars

        library_progress_bars(False)
    return cfg


def check_model_paths(model) -> None:
    """Fail before anything loads when ``model.name_or_path`` (or the critic's) names a local
    folder that does not exist (see :func:`stepcoder.models.paths.check_model_name`)."""
    for key in ("name_or_path", "critic_name_or_path"):
        value = getattr(model, key, None)
        if value:
            check_model_name(value, f"model.{key}")


def check_training_inputs(cfg: TrainConfig, heldout: bool = False, sft: bool = False, rl: bool = True) -> None:
    """Everything a training command reads, checked before its output folder is touched: the
    model paths, the RL problems (``rl``), the SFT demonstrations (``sft``), the held-out
    problems (``heldout``), and the optional packages asked for."""
    from stepcoder.plumbing.distributed import check_launch  # lazy: torch stays out of --help

    check_launch()
    check_model_paths(cfg.model)
    if rl:
        load_train_problems(cfg.data)
    if sft:
        load_sft_problems(cfg.data)
    if heldout and not load_heldout_problems(cfg.data):
        raise ValueError(f"data.heldout_path {cfg.data.heldout_path!r}: no held-out problem with tests")
    check_wandb(cfg.training.wandb_project)


def start_pipeline(args: argparse.Namespace) -> TrainConfig:
    """The start shared by the commands that run whole pipelines in one folder (``demo``,
    ``ablate``): one torch thread on CPU, the config, every input checked, then the output
    folder checked and (``--overwrite``) emptied. Returns the config."""
    import torch  # lazy: torch stays out of --help

    if "OMP_NUM_THREADS" not in os.environ and not torch.cuda.is_available():
        # measured on a loaded 2-core machine: the whole tiny demo took 4.1 min with one thread
        # and 29 min with two (spinning threads fight for the cores); the tiny model gains
        # little from a second thread anyway. Set OMP_NUM_THREADS to choose otherwise.
        torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    cfg = resolve_train_config(args)
    # bad input fails before any stage runs and before the output folder is touched
    check_output_dir(args.output_dir, resume=args.resume, overwrite=args.overwrite, can_resume=True)
    check_training_inputs(cfg, heldout=True, sft=cfg.sft.epochs > 0)
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
