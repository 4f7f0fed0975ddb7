"""Seconds per RL step and peak memory: our trainer (group-relative advantages) vs TRL's
GRPOTrainer, at equal work.

Equal work: the same model, problems, prompt text ("plain" template, no CCCS prefix), reward
(our sandbox's verdict mapped by ``verdict_reward`` inside a TRL reward function), number of
prompts x rollouts, max new tokens, sampling (T 0.8, top-p 0.9), optimizer steps per RL step
(rollouts / minibatch, one epoch), learning rate and KL coefficient (beta 0.05, reference
log-probs computed on both sides). One RL step of TRL is ``steps_per_generation`` of its
optimizer steps (one generation batch). Each side runs in its own process.

    python benchmarks/bench_trl.py --model tiny --problems 4 --n 4 --max-new-tokens 64 --steps 4
    python benchmarks/bench_trl.py --model gemma-3-270m --lora-r 16 --data APPS_PLUS.json \
        --format apps-plus --problems 2 --n 4 --max-new-tokens 64 --steps 3
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine_line, publish, quiet_logs, run_child, run_ours, steady, table, workload_parser  # noqa: E402

SIDES = ("ours", "ours-nofgo", "trl")


# --- TRL side -------------------------------------------------------------------------------

def trl_dataset(problems, prompt_cfg, tokenizer):
    from datasets import Dataset

    from stepcoder.prompts import build_prompt

    return Dataset.from_list([{"prompt": build_prompt(p, "", prompt_cfg, tokenizer), "problem_index": i}
                              for i, p in enumerate(problems)])


def sandbox_reward(problems, prompt_cfg, sandbox, tokenizer):
    """A TRL reward function: run each completion in our sandbox, reward its verdict."""
    from stepcoder.prompts import extract_completion
    from stepcoder.rl.rewards import verdict_reward

    calls = {"seconds": 0.0}

    def reward(prompts, completions, problem_index, **kwargs):
        t = time.perf_counter()
        items = [(problems[i], extract_completion(c, prompt_cfg, tokenizer)) for i, c in zip(problem_index, completions)]
        results = sandbox.run_batch(items)
        calls["seconds"] += time.perf_counter() - t
        return [verdict_reward(r.verdict) for r in results]

    reward.__name__ = "sandbox_verdict"
    return reward, calls


def run_trl(spec: dict) -> dict:
    import torch
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from stepcoder.prompts import PromptConfig
    from stepcoder.models import ModelConfig, load_tokenizer, resolve_model_path
    from stepcoder.sandbox import Sandbox, SandboxConfig
    from stepcoder.trainer.ppo_config import DataConfig
    from stepcoder.trainer.problems import load_train_problems

    torch.manual_seed(spec.get("seed", 0))
    problems = load_train_problems(DataConfig(train_path=spec["train_path"], format=spec.get("format")))
    tokenizer = load_tokenizer(ModelConfig(name_or_path=spec["model"]))
    prompt_cfg = PromptConfig(template="plain")
    rollouts = spec["problems"] * spec["n"]
    per_rl_step = rollouts // spec["minibatch"]
    args = GRPOConfig(
        # GRPOConfig turns gradient checkpointing on by default; ours runs without it here
        output_dir=spec.get("output_dir", "runs/bench-trl"), use_cpu=True, bf16=False, report_to="none",
        gradient_checkpointing=spec.get("trl_gradient_checkpointing", False),
        save_strategy="no", logging_steps=1, max_steps=spec["steps"] * per_rl_step, seed=spec.get("seed", 0),
        per_device_train_batch_size=spec["minibatch"], gradient_accumulation_steps=1, steps_per_generation=per_rl_step,
        num_generations=spec["n"], num_iterations=1, max_completion_length=spec["max_new_tokens"],
        temperature=0.8, top_p=0.9, top_k=0, beta=spec.get("beta", 0.05), learning_rate=1e-5,
        lr_scheduler_type="constant", warmup_steps=0, optim="adamw_torch", weight_decay=0.0, max_grad_norm=1.0,
        dataloader_num_workers=0, disable_tqdm=True, log_completions=False)
    peft_config = None
    if spec.get("lora_r", 0):
        from peft import LoraConfig

        peft_config = LoraConfig(r=spec["lora_r"], lora_alpha=2.0 * spec["lora_r"], lora_dropout=0.0,
                                 target_modules="all-linear", task_type="CAUSAL_LM")
    marks: list[float] = []

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            marks.append(time.perf_counter())

        def on_step_end(self, *a, **k):
            marks.append(time.perf_counter())

    sandbox_cfg = SandboxConfig(timeout_s=2.0, workers=2, coverage=False, preload=())
    with Sandbox(sandbox_cfg) as sandbox:
        reward, calls = sandbox_reward(problems, prompt_cfg, sandbox, tokenizer)
        t0 = time.perf_counter()
        trainer = GRPOTrainer(model=resolve_model_path(spec["model"]), reward_funcs=reward, args=args,
                              train_dataset=trl_dataset(problems, prompt_cfg, tokenizer),
                              processing_class=tokenizer, peft_config=peft_config, callbacks=[Clock()])
        load_s = time.perf_counter() - t0
        trainer.train()
    # an RL step spans per_rl_step optimizer steps; the first mark is the start of training
    rl_marks = marks[::per_rl_step]
    step_s = [b - a for a, b in zip(rl_marks, rl_marks[1:])]
    logs = [h for h in trainer.state.log_history if "completions/mean_length" in h]
    # generation metrics are logged once per generation batch, i.e. once per RL step
    tokens = [h["completions/mean_length"] * rollouts for h in logs]
    rewards = [h["reward"] for h in logs]
    return {"load_s": load_s, "step_s": step_s, "tokens": tokens, "rewards": rewards,
            "reward_s": calls["seconds"]}


def child(spec: dict) -> None:
    quiet_logs()
    if spec["side"] == "trl":
        emit(run_trl(spec))
    else:
        emit(run_ours({**spec, "advantage": "group", "fgo": spec["side"] == "ours"}))


# --- parent ---------------------------------------------------------------------------------

def merge(runs: list[dict]) -> dict:
    """Repeated runs of one side: steps of every run after its first (warm-up) step, in
    order; step 1 and memory from the worst run."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    merged = {"step_s": [max(r["step_s"][0] for r in ok)], "tokens": [], "phases": [],
              "peak_rss_mb": max(r["peak_rss_mb"] for r in ok), "load_s": max(r["load_s"] for r in ok),
              "runs": len(ok)}
    for r in ok:
        merged["step_s"] += r["step_s"][1:]
        merged["tokens"] += r["tokens"][1:] or r["tokens"]
        merged["phases"] += r.get("phases", [])[1:]
    if ok[0].get("phases"):
        merged["phases"] = [ok[0]["phases"][0]] + merged["phases"]
    return merged


def report(spec: dict, results: dict[str, dict]) -> str:
    rows = []
    for side, r in results.items():
        if "error" in r:
            rows.append([side, "failed: " + r["error"][:200], "", "", "", "", ""])
            continue
        s = steady(r["step_s"])
        tok = statistics.median(r["tokens"]) if r["tokens"] else float("nan")
        rows.append([side, s, r["step_s"][0], tok, tok / s, r["peak_rss_mb"], r["load_s"]])
    out = [f"Machine: {machine_line()}",
           f"Spec: {json.dumps({k: v for k, v in spec.items() if k != 'side'})}", "",
           table(["side", "s/step (median of steps 2..)", "step 1 s", "tokens/step", "tokens/s", "peak RSS MB", "load s"], rows)]
    base = results.get("trl", {})
    for side in ("ours", "ours-nofgo"):
        r = results.get(side, {})
        if "error" not in r and "error" not in base and r and base:
            out.append(f"\nTRL s/step / {side} s/step = {steady(base['step_s']) / steady(r['step_s']):.2f} "
                       "(> 1: ours is faster)")
    ours = results.get("ours", {})
    if ours and "error" not in ours:
        out.append("\nOur phases (median over steps 2.., seconds):\n")
        keys = sorted({k for p in ours["phases"] for k in p})
        out.append(table(["phase", "s"], [[k, steady([p.get(k, 0.0) for p in ours["phases"]])] for k in keys]))
        share = steady([p.get("time/execute", 0.0) / p["time/step"] for p in ours["phases"]])
        out.append(f"\nShare of the step waiting for execution (time/execute / time/step): {share:.1%}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = workload_parser(__doc__, training=True)
    p.add_argument("--sides", default="ours,trl", help=f"comma-separated, of {', '.join(SIDES)}")
    p.add_argument("--repeats", type=int, default=1, help="run the sides round-robin this many times (noisy machines)")
    args = p.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    spec = {"model": args.model, "train_path": args.data, "format": args.format, "problems": args.problems,
            "n": args.n, "max_new_tokens": args.max_new_tokens, "minibatch": args.minibatch, "steps": args.steps,
            "lora_r": args.lora_r}
    runs: dict[str, list[dict]] = {side: [] for side in args.sides.split(",")}
    for rep in range(args.repeats):  # round-robin, so that a noisy minute hits every side
        for side in runs:
            print(f"running {side} ({rep + 1}/{args.repeats}) ...", file=sys.stderr, flush=True)
            runs[side].append(run_child(__file__, {**spec, "side": side}))
            print(json.dumps(runs[side][-1])[:2000], file=sys.stderr, flush=True)
    text = report({**spec, "repeats": args.repeats}, {side: merge(r) for side, r in runs.items()})
    publish(text, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
