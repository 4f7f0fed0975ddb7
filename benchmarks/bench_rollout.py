"""Sampling throughput of our rollout (``generate_completions``) vs a bare ``model.generate``
call on the same batch and settings: the bare call is the limit our wrapper can reach.

Same prompts (the plain template of the first problems), n rollouts each, temperature 0.8,
top-p 0.9, the same max new tokens and seed, one generate call of all rows. Variants of ours:
without stop sequences (the same tokens as the bare call, checked) and with the training
stop sequences (the stopping criterion decodes text every step). Variants run alternately in
one process, repeated; medians reported.

    python benchmarks/bench_rollout.py --model tiny --problems 4 --n 4 --max-new-tokens 64 --repeats 3
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, peak_rss_mb, publish, quiet_logs, table, workload_parser  # noqa: E402


def bare_generate(model, tokenizer, prompts: list[str], cfg) -> list[list[int]]:
    """The limit: one ``generate`` call, left-padded batch, prompts repeated n times."""
    import torch

    enc = tokenizer([p for p in prompts for _ in range(cfg.n)], return_tensors="pt", padding=True)
    torch.manual_seed(cfg.seed)
    out = model.generate(**enc, do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, top_k=0,
                         max_new_tokens=cfg.max_new_tokens, use_cache=True, pad_token_id=tokenizer.pad_token_id)
    eos = model.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id}
    rows = []
    for row in out[:, enc["input_ids"].shape[1]:].tolist():
        end = next((i + 1 for i, t in enumerate(row) if t in eos), len(row))
        rows.append(row[:end])
    return rows


def measure(args) -> dict:
    import torch

    from stepcoder.prompts import build_prompt
    from stepcoder.prompts import PromptConfig
    from stepcoder.models import ModelConfig, load_policy, load_tokenizer
    from stepcoder.rollout import SamplingConfig, generate_completions
    from stepcoder.trainer.ppo_config import DataConfig
    from stepcoder.trainer.problems import load_train_problems

    mcfg = ModelConfig(name_or_path=args.model)
    tokenizer, model = load_tokenizer(mcfg), load_policy(mcfg).eval()
    prompt_cfg = PromptConfig(template="plain")
    problems = load_train_problems(DataConfig(train_path=args.data, format=args.format))[: args.problems]
    prompts = [build_prompt(p, "", prompt_cfg, tokenizer) for p in problems]
    base = SamplingConfig(n=args.n, temperature=0.8, top_p=0.9, max_new_tokens=args.max_new_tokens,
                          batch_size=args.n * len(prompts), seed=0)
    with_stops = dataclasses.replace(base, stop=list(prompt_cfg.stop_sequences(tokenizer)))

    def ours(cfg):
        def go():
            groups = generate_completions(model, tokenizer, prompts, cfg)
            return [c.completion_ids for g in groups for c in g]
        return go

    variants = {"bare model.generate": lambda: bare_generate(model, tokenizer, prompts, base),
                "generate_completions, no stops": ours(base),
                "generate_completions, training stops": ours(with_stops)}
    seconds: dict[str, list[float]] = {k: [] for k in variants}
    tokens: dict[str, int] = {}
    outputs: dict[str, list[list[int]]] = {}
    torch.set_grad_enabled(False)
    variants["bare model.generate"]()  # warm-up (allocator, kernels), not timed
    for _ in range(args.repeats):
        for name, fn in variants.items():
            t = time.perf_counter()
            rows = fn()
            seconds[name].append(time.perf_counter() - t)
            tokens[name] = sum(len(r) for r in rows)
            outputs[name] = rows
    same = outputs["bare model.generate"] == outputs["generate_completions, no stops"]
    return {"seconds": seconds, "tokens": tokens, "same_tokens": same, "peak_rss_mb": peak_rss_mb(),
            "prompt_tokens": [len(tokenizer(p)["input_ids"]) for p in prompts]}


def report(args, r: dict) -> str:
    bare = statistics.median(r["seconds"]["bare model.generate"]) / r["tokens"]["bare model.generate"]
    rows = []
    for name, secs in r["seconds"].items():
        med = statistics.median(secs)
        per_token = med / r["tokens"][name]
        rows.append([name, med, r["tokens"][name], r["tokens"][name] / med, f"{per_token / bare - 1:+.1%}"])
    spec = {k: getattr(args, k) for k in ("model", "data", "problems", "n", "max_new_tokens", "repeats")}
    return "\n".join([
        f"Machine: {machine_line()}", f"Spec: {json.dumps(spec)}; prompt tokens {r['prompt_tokens']}", "",
        table(["variant", "s (median)", "tokens", "tokens/s", "time per token vs bare"], rows), "",
        f"ours without stops produced exactly the bare call's tokens: {r['same_tokens']}"])


def main(argv: list[str] | None = None) -> int:
    p = workload_parser(__doc__, training=False)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    quiet_logs()
    text = report(args, measure(args))
    publish(text, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
