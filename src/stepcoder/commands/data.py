"""`stepcoder data`: build APPS+ from APPS, convert problem files, describe them."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from stepcoder.commands.inputs import require_problems
from stepcoder.data.build_apps_plus import BuildConfig, build_apps_plus
from stepcoder.output_dir import check_output_file
from stepcoder.problems import detect_format, save_jsonl
from stepcoder.problems.records import read_records


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("data", help="build, convert and inspect problem files")
    sub = p.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)

    b = sub.add_parser(
        "build-apps-plus", help="clean APPS into APPS+-style native JSONL (solutions verified in the sandbox)",
        description="Drops problems without tests or solutions, standardises outputs, keeps a problem only "
        "if one of its solutions passes its own tests (that one becomes canonical) and annotates its blocks. "
        "Writes OUT and OUT.summary.json.")
    b.add_argument("apps_file", nargs="?", help="APPS in the hub schema (.json list or .jsonl, optionally .gz)")
    b.add_argument("out", help="output native JSONL file")
    b.add_argument("--hub", default=None, help="read this hub dataset instead of APPS_FILE (needs `datasets` and network), e.g. codeparrot/apps")
    b.add_argument("--split", default="train", help="hub split (with --hub)")
    b.add_argument("--max-solutions", type=int, default=10, help="solutions tried per problem, in order (default: 10)")
    b.add_argument("--timeout", type=float, default=4.0, help="CPU seconds per test (default: 4)")
    b.add_argument("--workers", type=int, default=0, help="sandbox worker processes (default: one per CPU)")
    b.add_argument("--limit", type=int, default=None, help="only the first N records")
    b.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    b.set_defaults(func=run_build)

    c = sub.add_parser("convert", help="convert any supported problem file to native JSONL")
    c.add_argument("src", help="problem file (apps-plus, apps, humaneval, mbpp or jsonl)")
    c.add_argument("out", help="output native JSONL (.gz to compress)")
    c.add_argument("--format", default=None, help="force the input format (default: detect)")
    c.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    c.set_defaults(func=run_convert)

    i = sub.add_parser("info", help="format, counts and test kinds of a problem file")
    i.add_argument("src", help="problem file")
    i.add_argument("--format", default=None, help="force the input format (default: detect)")
    i.set_defaults(func=run_info)


def run_build(args: argparse.Namespace) -> int:
    if (args.apps_file is None) == (args.hub is None):
        raise ValueError("give either APPS_FILE or --hub NAME (not both)")
    check_output_file(args.out, args.overwrite)
    records, source = _hub_records(args.hub, args.split) if args.hub else _file_records(args.apps_file)
    if not records:
        raise ValueError(f"{source}: no records: the file is empty")
    config = BuildConfig(max_solutions=args.max_solutions, timeout_s=args.timeout, workers=args.workers, limit=args.limit)
    problems, summary = build_apps_plus(records, source, config)
    out = save_jsonl(problems, args.out)
    summary_path = Path(f"{out}.summary.json")
    summary_path.write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    print(json.dumps(summary.to_json(), indent=2))
    print(f"wrote {out} ({summary.kept} problems) and {summary_path}")
    return 0


def _file_records(path: str) -> tuple[list, str]:
    if not Path(path).is_file():
        raise FileNotFoundError(f"APPS_FILE {path!r}: no such file")
    return read_records(path), path


def _hub_records(name: str, split: str) -> tuple[list, str]:
    try:
        import datasets
    except ImportError:
        raise ImportError("--hub needs the `datasets` package (pip install datasets) and network access; "
                          "or download APPS once and pass the local .json/.jsonl file as APPS_FILE") from None
    try:
        ds = datasets.load_dataset(name, split=split)
    except Exception as exc:  # offline, unknown name, script-based dataset, ...
        raise OSError(f"could not load {name!r} split {split!r} from the hub (network access needed): {exc}") from exc
    return [dict(row) for row in ds], f"{name}:{split}"


def run_convert(args: argparse.Namespace) -> int:
    check_output_file(args.out, args.overwrite)
    problems = require_problems(args.src, args.format, "SRC")
    print(f"wrote {save_jsonl(problems, args.out)} ({len(problems)} problems)")
    return 0


def run_info(args: argparse.Namespace) -> int:
    problems = require_problems(args.src, args.format, "SRC")
    info = {
        "format": args.format or detect_format(args.src),
        "problems": len(problems),
        "tests": sum(len(p.tests) for p in problems),
        "test_kinds": dict(Counter(t.kind for p in problems for t in p.tests)),
        "difficulty": dict(Counter(p.difficulty or "unknown" for p in problems)),
        "with_solution": sum(p.solution is not None for p in problems),
    }
    print(json.dumps(info, indent=2))
    return 0
