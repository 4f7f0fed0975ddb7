"""`stepcoder` command line: one subcommand a module under ``stepcoder.commands``.

Each command module exposes ``add_parser(subparsers)`` and ``run(args) -> int`` and keeps
its heavy imports (torch, transformers) inside ``run`` so that light commands such as
``stepcoder check`` start without importing torch.

Bad input is reported here, once for every command: a command raises (a ``ValueError`` such
as ``ConfigError`` or ``ProblemFormatError`` naming the file, record and field; an
``OSError`` for a missing path or an occupied output folder; an ``ImportError`` naming the
extra to install) and ``main`` prints one line on stderr and exits with status 2, argparse's
status for bad usage. ``--debug`` lets the exception through with its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from stepcoder import __version__
from stepcoder.config import ConfigArgumentParser

# name on the command line -> module under stepcoder.commands
COMMANDS = {
    "check": "check",
    "curriculum": "curriculum",
    "data": "data",
    "sft": "sft",
    "train": "train",
    "eval": "eval",
    "score": "score",
    "report": "report",
    "demo": "demo",
    "ablate": "ablate",
}


# A user's mistake or a missing optional package; anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, OSError, ImportError)
DEBUG_HELP = "show the traceback of an error instead of one line"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the command ``only`` alone (its module is the only
    one imported: ``stepcoder check`` does not pay for the training commands' imports)."""
    # every subcommand's parser is built with this class, so a training command can generate
    # its config flags when it is the one parsed (ConfigArgumentParser)
    parser = ConfigArgumentParser(
        prog="stepcoder",
        description="Reinforcement learning from execution feedback for code LMs (StepCoder: PPO + CCCS + FGO).",
    )
    parser.add_argument("--version", action="version", version=f"stepcoder {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in ([COMMANDS[only]] if only in COMMANDS else COMMANDS.values()):
        try:
            module = importlib.import_module(f"stepcoder.commands.{module_name}")
        except ModuleNotFoundError as exc:  # a command not built yet in this checkout
            if exc.name == f"stepcoder.commands.{module_name}":
                continue
            raise
        module.add_parser(subparsers)
    _add_debug_flag(subparsers)
    return parser


def _add_debug_flag(subparsers: argparse._SubParsersAction) -> None:
    """``--debug`` is accepted after the subcommand too (``stepcoder eval ... --debug``)."""
    for sub in subparsers.choices.values():
        # SUPPRESS: a subcommand without the flag keeps the value parsed before it
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_debug_flag(action)


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (multi-line messages joined with '; ').

    >>> one_line(ValueError("a:\n  b\n  c"))
    'a: b; c'
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    for line in lines[1:]:
        text += (" " if text.endswith(":") else "; ") + line
    return text


def _command_named(argv: list[str]) -> str | None:
    """The subcommand on the command line: its first word that is not a flag (the top-level
    flags take no value).

    >>> _command_named(["--debug", "check", "x.jsonl"]), _command_named(["--help"])
    ('check', None)
    """
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_command_named(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        if args.debug:
            raise
        print(f"stepcoder {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
