"""`stepcoder check PATH`: run every problem's canonical solution (or given programs) through
the sandbox and summarise the verdicts: a data file's health check."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

from stepcoder.commands.inputs import require_problems
from stepcoder.sandbox import Sandbox, SandboxConfig


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check", help="run canonical solutions (or given programs) through the sandbox",
        description="Runs each problem's canonical solution, a program stored in another field "
        "(--program-field), or programs from a JSONL of {\"id\", \"program\"} (--programs) against "
        "the problem's tests and prints the pass rate per difficulty and per verdict.")
    p.add_argument("path", help="problem file (apps-plus, apps, humaneval, mbpp or native jsonl)")
    p.add_argument("--format", default=None, help="problem file format (default: detect)")
    p.add_argument("--json", dest="json_out", default=None, metavar="OUT", help="write the summary and every result here")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--program-field", default=None, metavar="FIELD",
                        help="take the program from this field of Problem.meta instead of the solution")
    source.add_argument("--programs", default=None, metavar="FILE.jsonl", help='JSONL of {"id", "program"} to run')
    p.add_argument("--workers", type=int, default=0, help="sandbox workers (default: one per CPU)")
    p.add_argument("--timeout", type=float, default=None, help="CPU seconds per test (default: the sandbox's)")
    p.add_argument("--no-coverage", action="store_true", help="do not record executed lines (faster)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N problems")
    p.set_defaults(func=run)


def _programs(args: argparse.Namespace, problems: list) -> list[tuple[Any, str]]:
    if args.programs:
        by_id = {p.id: p for p in problems}
        items = []
        with open(args.programs) as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    rec = _program_record(args.programs, n, line)
                    if str(rec.get("id")) not in by_id:
                        raise ValueError(f"{args.programs}, line {n}: unknown problem id {rec.get('id')!r}")
                    items.append((by_id[str(rec["id"])], rec["program"]))
        return items
    if args.program_field:
        return [(p, p.meta[args.program_field]) for p in problems if p.meta.get(args.program_field)]
    return [(p, p.solution) for p in problems if p.solution]


def _program_record(path: str, n: int, line: str) -> dict:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}, line {n}: not valid JSON: {exc}") from None
    if not isinstance(rec, dict) or not isinstance(rec.get("program"), str):
        raise ValueError(f"{path}, line {n}, field 'program': expected an object with a string 'program'")
    return rec


def summarize(items: list, results: list) -> dict[str, Any]:
    """Totals, pass rate, verdict counts and pass rate per difficulty."""
    passed = sum(r.passed for r in results)
    by_difficulty: dict[str, list[int]] = {}
    for (problem, _), result in zip(items, results):
        counts = by_difficulty.setdefault(problem.difficulty or "all", [0, 0])
        counts[0] += result.passed
        counts[1] += 1
    return {
        "total": len(results), "passed": passed, "pass_rate": passed / len(results) if results else 0.0,
        "by_verdict": dict(Counter(r.verdict.value for r in results)),
        # where each test was decided: parent (stdio/call), judge (assert tests through plain-data
        # stubs), candidate (assert tests that build the program's own objects)
        "tests_judged_by": dict(Counter(t.judged_by for r in results for t in r.tests)),
        "by_difficulty": {k: {"passed": p, "total": t, "pass_rate": p / t} for k, (p, t) in sorted(by_difficulty.items())},
    }


def run(args: argparse.Namespace) -> int:
    problems = require_problems(args.path, args.format, "PATH")[: args.limit]
    items = _programs(args, problems)
    limits = {} if args.timeout is None else {"timeout_s": args.timeout}
    config = SandboxConfig(workers=args.workers, coverage=not args.no_coverage, **limits).lean_for(items)
    with Sandbox(config) as sandbox:
        results = sandbox.run_batch(items, progress=True)
    summary = summarize(items, results)
    print(f"{summary['passed']}/{summary['total']} passed ({100 * summary['pass_rate']:.1f}%)")
    for name, row in summary["by_difficulty"].items():
        print(f"  {name:<14} {row['passed']}/{row['total']} ({100 * row['pass_rate']:.1f}%)")
    print("  verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["by_verdict"].items())))
    print("  tests judged by: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["tests_judged_by"].items())))
    for (problem, _), result in zip(items, results):
        if not result.passed:
            print(f"  {problem.id}: {result.verdict.value} {result.error_type or ''} {(result.error_message or '')[:120]}")
    if args.json_out:
        records = [{"id": p.id, **r.to_json()} for (p, _), r in zip(items, results)]
        for record in records:  # the same for every program: once, in the summary
            summary["isolation"] = record.pop("isolation")
        with open(args.json_out, "w") as f:
            json.dump({"summary": summary, "problems": records}, f)
        print(f"wrote {args.json_out}")
    # a failing canonical solution is a data problem (exit 1, usable in CI); a failing
    # given program is just a result
    canonical = not (args.programs or args.program_field)
    return 1 if canonical and summary["passed"] < summary["total"] else 0
