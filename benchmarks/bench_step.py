"""The cost of the critic: our PPO step with GAE (critic + value loss) vs our critic-free
group-relative step, at equal work (same model, problems, rollouts, tokens, minibatches).
Each mode runs in its own process; per-phase timings come from the trainer's ``time/*``.

    python benchmarks/bench_step.py --model tiny --problems 4 --n 4 --max-new-tokens 64 --steps 4
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine_line, publish, quiet_logs, run_child, run_ours, table, workload_parser  # noqa: E402

MODES = ("group", "gae")


def report(spec: dict, results: dict[str, list[dict]]) -> str:
    ok = {m: [r for r in rs if "error" not in r] for m, rs in results.items()}
    out = [f"Machine: {machine_line()}", f"Spec: {json.dumps(spec)}", ""]
    rows = []
    for mode, runs in ok.items():
        if not runs:
            rows.append([mode, "failed: " + results[mode][0]["error"][:200], "", ""])
            continue
        steps = [s for r in runs for s in r["step_s"][1:]] or [r["step_s"][0] for r in runs]
        rows.append([mode, statistics.median(steps), max(r["peak_rss_mb"] for r in runs),
                     statistics.median([t for r in runs for t in r["tokens"]])])
    out.append(table(["advantage", "s/step (median of steps 2..)", "peak RSS MB", "tokens/step"], rows))
    if all(ok.values()):
        phases = {m: [p for r in runs for p in r["phases"][1:]] or [r["phases"][0] for r in runs] for m, runs in ok.items()}
        keys = sorted({k for ps in phases.values() for p in ps for k in p})
        med = {m: {k: statistics.median([p.get(k, 0.0) for p in ps]) for k in keys} for m, ps in phases.items()}
        out += ["", "Phases (median seconds):", "",
                table(["phase", *MODES, "gae - group"], [[k, med["group"][k], med["gae"][k], med["gae"][k] - med["group"][k]]
                                                         for k in keys])]
        ratio = med["gae"]["time/step"] / med["group"]["time/step"]
        out.append(f"\ngae step / group step = {ratio:.2f}")
        for m in MODES:
            share = med[m].get("time/execute", 0.0) / med[m]["time/step"]
            out.append(f"{m}: share of the step waiting for execution = {share:.1%}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = workload_parser(__doc__, training=True)
    p.add_argument("--repeats", type=int, default=1, help="run the modes round-robin this many times")
    args = p.parse_args(argv)
    if args.child:
        quiet_logs()
        emit(run_ours(json.loads(args.child)))
        return 0
    spec = {"model": args.model, "train_path": args.data, "format": args.format, "problems": args.problems,
            "n": args.n, "max_new_tokens": args.max_new_tokens, "minibatch": args.minibatch, "steps": args.steps,
            "lora_r": args.lora_r, "fgo": True}
    results: dict[str, list[dict]] = {m: [] for m in MODES}
    for rep in range(args.repeats):
        for mode in MODES:
            print(f"running {mode} ({rep + 1}/{args.repeats}) ...", file=sys.stderr, flush=True)
            results[mode].append(run_child(__file__, {**spec, "advantage": mode}))
            print(json.dumps(results[mode][-1])[:1500], file=sys.stderr, flush=True)
    text = report({**spec, "repeats": args.repeats}, results)
    publish(text, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
