"""`stepcoder` command line: one subcommand a module under ``stepcoder.commands``.

Each command module exposes ``add_parser(subparsers)`` and ``run(args) -> int`` and keeps
its heavy imports (torch, transformers) inside ``run`` so that light commands such as
``stepcoder check`` start without importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

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
}


def build_parser() -> argparse.ArgumentParser:
    from stepcoder import __version__

    parser = argparse.ArgumentParser(
        prog="stepcoder",
        description="Reinforcement learning from execution feedback for code LMs (StepCoder: PPO + CCCS + FGO).",
    )
    parser.add_argument("--version", action="version", version=f"stepcoder {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        try:
            module = importlib.import_module(f"stepcoder.commands.{module_name}")
        except ModuleNotFoundError as exc:  # a command not built yet in this checkout
            if exc.name == f"stepcoder.commands.{module_name}":
                continue
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
