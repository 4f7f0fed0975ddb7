"""Command-line plumbing shared by ``stepcoder sft``, ``train`` and ``demo``.

The ``--section.field`` flags are generated from :class:`TrainConfig`, whose sections import
torch indirectly; they are added only when the subcommand itself is parsed, so that
``stepcoder check`` and ``stepcoder --help`` stay fast.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import types
from contextlib import contextmanager
from pathlib import Path

# A user's mistake (a missing path, an unknown key, sizes that do not fit, a run directory in
# use) surfaces as one of these while the config is read and the models load; ConfigError and
# ProblemFormatError are ValueErrors, Hugging Face raises OSError for a model it cannot find.
USER_ERRORS = (ValueError, OSError)


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
    with user_errors(getattr(args, "command", None)):
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


@contextmanager
def user_errors(command: str | None):
    """Turn a user error raised inside the block into one line on stderr and exit status 2
    (argparse's convention for bad usage), without a traceback."""
    try:
        yield
    except USER_ERRORS as exc:
        prog = f"stepcoder {command}" if command else "stepcoder"
        print(f"{prog}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def check_model_paths(model) -> None:
    """Fail before anything loads when ``model.name_or_path`` (or the critic's) is meant as a
    local folder that does not exist. A ``namespace/name`` string may be a Hub id: that one is
    left to Hugging Face, whose OSError for an unknown id names it (caught by :func:`user_errors`)."""
    for key in ("name_or_path", "critic_name_or_path"):
        value = getattr(model, key, None)
        if value and value != "tiny" and not Path(value).expanduser().exists() and _looks_local(value):
            raise FileNotFoundError(f"model.{key} {value!r}: no such directory (a model folder, e.g. written by "
                                    "`stepcoder sft`, or a Hugging Face Hub id such as 'google/gemma-3-270m')")


def _looks_local(name: str) -> bool:
    """A Hub id is 'name' or 'namespace/name'; an absolute path, '~', '.', '..' or two slashes is a path."""
    return (os.path.isabs(name) or name.startswith(("~", ".")) or name.count("/") > 1
            or (os.sep != "/" and os.sep in name))
