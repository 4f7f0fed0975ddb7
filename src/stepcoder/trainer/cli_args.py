"""Command-line plumbing shared by ``stepcoder sft``, ``train`` and ``demo``.

The ``--section.field`` flags are generated from :class:`TrainConfig`, whose sections import
torch indirectly; they are added only when the subcommand itself is parsed, so that
``stepcoder check`` and ``stepcoder --help`` stay fast.
"""

from __future__ import annotations

import argparse
import types


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
        return original(args, namespace)

    parser.parse_known_args = types.MethodType(parse_known_args, parser)


def resolve_train_config(args: argparse.Namespace, **overrides):
    """The run's TrainConfig from ``--config`` + flags, then command-specific overrides
    given as ``section.field=value`` keyword pairs (e.g. ``{"training.output_dir": d}``)."""
    from stepcoder.config import ConfigError, parse_config
    from stepcoder.trainer.config import TrainConfig, resolve_config_path

    ns = argparse.Namespace(**vars(args))
    for dotted, value in overrides.items():
        setattr(ns, dotted, value)
    try:
        return parse_config(TrainConfig, ns, config_path=resolve_config_path(args.config))
    except (ConfigError, FileNotFoundError) as exc:  # a user error: one line, no traceback
        raise SystemExit(f"stepcoder: error: {exc}") from None
