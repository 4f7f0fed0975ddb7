"""Does PPO move pass@1 on the problems it trains on? A learning check on the tiny default.

SFT the tiny model on the bundled train split, measure pass@1 on a problem set X, run PPO
(plain generation, no curriculum, so the prompts are the evaluation's) on X itself, and
measure pass@1 on X again. It separates "the update does not work" from "the update works
but does not generalise to unseen problems": the demo trains on the train split and
evaluates on the held-out split, where the tiny model must copy constants it never saw.

    python benchmarks/bench_ppo_learns.py --out runs/ppo-learns [--set heldout] [--lr 5e-5 1e-4]

Prints a markdown table; each PPO run takes about 2 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/ppo-learns")
    parser.add_argument("--set", default="heldout", choices=["heldout", "train"], help="bundled tiny split to train and evaluate on")
    parser.add_argument("--lr", type=float, nargs="+", default=[5e-5, 1e-4])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)

    import torch

    from stepcoder.config import config_from_dict, config_to_dict, load_yaml
    from stepcoder.data import tiny_dataset_path
    from stepcoder.trainer.config import TrainConfig, resolve_config_path
    from stepcoder.trainer.demo import heldout_pass_at_1
    from stepcoder.trainer.ppo import PPOTrainer
    from stepcoder.trainer.problems import load_heldout_problems
    from stepcoder.trainer.sft import run_sft

    torch.set_num_threads(1)  # one thread is faster than two on a shared 2-core machine
    base = load_yaml(TrainConfig, resolve_config_path("tiny"))
    out = Path(args.out)
    target = str(tiny_dataset_path(args.set))
    eval_data = config_from_dict(TrainConfig, {**config_to_dict(base), "data": {**config_to_dict(base.data), "heldout_path": target}})
    problems = load_heldout_problems(eval_data.data)
    sft_dir = out / "sft"
    if not (sft_dir / "config.json").exists():
        run_sft(base, sft_dir)
    before = heldout_pass_at_1(str(sft_dir), base, out / "eval-sft", problems)
    rows = []
    for lr in args.lr:
        name = f"ppo-lr{lr:g}"
        shutil.rmtree(out / name, ignore_errors=True)
        shutil.rmtree(out / f"eval-{name}", ignore_errors=True)
        data = config_to_dict(base)
        data["model"]["name_or_path"] = str(sft_dir)
        data["data"]["train_path"] = target
        data["curriculum"]["start_stage"] = 0
        data["ppo"]["policy_lr"] = lr
        data["training"].update(steps=args.steps, output_dir=str(out / name), progress_bar=False)
        PPOTrainer(config_from_dict(TrainConfig, data)).train()
        after = heldout_pass_at_1(str(out / name / "policy"), base, out / f"eval-{name}", problems)
        rows.append((lr, after))
    print(f"\npass@1 on the tiny {args.set} split ({len(problems)} problems x 4 samples, T=0.2), PPO trained on that split:\n")
    print("| policy lr | steps | after SFT | after PPO |\n|---|---|---|---|")
    for lr, after in rows:
        print(f"| {lr:g} | {args.steps} | {before:.3f} | {after:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
