"""`stepcoder curriculum PATH [--format F] [--split-kinds K ...] [--json OUT]`: the CCCS view
of a problem file: per problem its AST blocks, split points and number of stages."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from stepcoder.commands.inputs import require_problems
from stepcoder.curriculum.blocks import DEFAULT_SPLIT_KINDS, SPLIT_KINDS, extract_blocks, split_points
from stepcoder.curriculum.cccs import num_stages


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "curriculum",
        help="show the CCCS blocks, split points and stages of a problem file",
        description="For each problem: the AST blocks of its canonical solution (APPS+ `scope` kinds), "
        "the split points (starts of the conditional statements, StepCoder §3.2) and the number of "
        "curriculum stages K = ceil(sqrt(E)); then the distributions of E and K.",
    )
    p.add_argument("path", help="problem file (apps-plus, apps, humaneval, mbpp or jsonl)")
    p.add_argument("--format", default=None, help="file format (default: detected)")
    p.add_argument("--split-kinds", nargs="+", default=list(DEFAULT_SPLIT_KINDS), choices=SPLIT_KINDS,
                   help=f"statements that are split points (default: {' '.join(DEFAULT_SPLIT_KINDS)})")
    p.add_argument("--json", dest="json_out", default=None, metavar="OUT", help="also write the per-problem view as JSON")
    p.add_argument("--limit", type=int, default=None, help="print at most this many problem rows")
    p.set_defaults(func=run)


def _describe(problem: Any, kinds: tuple[str, ...]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": problem.id, "blocks": [], "split_lines": [], "stages": 0}
    if not problem.solution:
        entry["note"] = "no solution"
        return entry
    try:
        entry["blocks"] = [b.to_json() for b in extract_blocks(problem.solution)]
        entry["split_lines"] = [p.line for p in split_points(problem.solution, kinds)]
    except SyntaxError as exc:
        entry["note"] = f"solution does not parse: {exc.msg} (line {exc.lineno})"
        return entry
    entry["stages"] = num_stages(len(entry["split_lines"]))[0]
    return entry


def _print_table(entries: list[dict[str, Any]], limit: int | None) -> None:
    print(f"{'id':>12}  {'blocks':>6}  {'E':>3}  {'K':>3}  split lines")
    for entry in entries[:limit]:
        lines = " ".join(map(str, entry["split_lines"])) or entry.get("note", "-")
        print(f"{str(entry['id'])[:12]:>12}  {len(entry['blocks']):>6}  {len(entry['split_lines']):>3}  {entry['stages']:>3}  {lines}")
    if limit is not None and len(entries) > limit:
        print(f"... {len(entries) - limit} more")


def _print_summary(entries: list[dict[str, Any]]) -> None:
    n = len(entries)
    e_counts = Counter(len(e["split_lines"]) for e in entries)
    k_counts = Counter(e["stages"] for e in entries)
    plain = sum(1 for e in entries if e["stages"] <= 1)
    print(f"\n{n} problems; {plain} always plain generation (K <= 1: E <= 1, or no usable solution)")
    print("E (split points):  " + "  ".join(f"{e}:{c}" for e, c in sorted(e_counts.items())))
    print("K (stages):        " + "  ".join(f"{k}:{c}" for k, c in sorted(k_counts.items())))
    if n:
        print(f"mean E {sum(len(e['split_lines']) for e in entries) / n:.2f}, mean K {sum(e['stages'] for e in entries) / n:.2f}")


def run(args: argparse.Namespace) -> int:
    problems = require_problems(args.path, args.format, "PATH")
    kinds = tuple(args.split_kinds)
    entries = [_describe(problem, kinds) for problem in problems]
    _print_table(entries, args.limit)
    _print_summary(entries)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"split_kinds": list(kinds), "problems": entries}, indent=1) + "\n")
        print(f"wrote {args.json_out}")
    return 0
