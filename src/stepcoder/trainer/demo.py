"""The end-to-end demo on the embedded tiny default: evaluate the random-init model, SFT,
evaluate (BEFORE), StepCoder PPO, evaluate (AFTER), write the run report."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from pathlib import Path

from stepcoder.trainer.config import TrainConfig

logger = logging.getLogger(__name__)
# pass@1 estimated from 4 samples per problem: the same metric as n = 1, with less noise
EVAL_SAMPLES = 4
STAGE_DIRS = ("eval-start", "sft", "eval-sft", "ppo", "eval-ppo")


def heldout_pass_at_1(model_path: str, cfg: TrainConfig, out_dir: Path, problems, samples: int = EVAL_SAMPLES) -> float:
    """pass@1 of ``model_path`` on the held-out problems (paper: temperature 0.2, top-p 0.95)."""
    from stepcoder.eval import EvalConfig, evaluate
    from stepcoder.models import ModelConfig, load_policy, load_tokenizer

    model_cfg = ModelConfig(name_or_path=model_path)
    tokenizer, model = load_tokenizer(model_cfg), load_policy(model_cfg)
    eval_cfg = EvalConfig(model=model_path, n_samples=samples, k=(1,), temperature=0.2, top_p=0.95,
                          max_new_tokens=cfg.sampling.max_new_tokens, batch_size=cfg.sampling.batch_size,
                          prompt_template=cfg.prompt.template, seed=cfg.training.seed)
    result = evaluate(model, tokenizer, problems, eval_cfg, out_dir, sandbox_config=cfg.sandbox, progress=False)
    return result.pass_at_k["Overall"]["pass@1"]


def run_demo(cfg: TrainConfig, out_dir: str | Path) -> dict[str, float]:
    """Run every stage into ``out_dir`` (start/, sft/, ppo/, eval-*); returns the figures."""
    from stepcoder.report import write_run_report
    from stepcoder.trainer.ppo import PPOTrainer
    from stepcoder.trainer.problems import load_heldout_problems
    from stepcoder.trainer.sft import run_sft

    out = Path(out_dir)
    for stale in STAGE_DIRS:  # a demo is one fresh run: never mix in an earlier one's files
        shutil.rmtree(out / stale, ignore_errors=True)
    heldout = load_heldout_problems(cfg.data)
    times: dict[str, float] = {}
    figures: dict[str, float] = {}

    def stage(name: str, fn):
        start = time.perf_counter()
        print(f"[demo] {name} ...", flush=True)
        value = fn()
        times[name] = time.perf_counter() - start
        print(f"[demo] {name}: {times[name]:.0f} s", flush=True)
        return value

    figures["start"] = stage("eval of the starting model", lambda: heldout_pass_at_1(
        cfg.model.name_or_path, cfg, out / "eval-start", heldout, samples=1))  # random init: one sample is enough
    stage("SFT warm start", lambda: run_sft(cfg, out / "sft"))
    figures["before"] = stage("eval of the SFT model (BEFORE)", lambda: heldout_pass_at_1(
        str(out / "sft"), cfg, out / "eval-sft", heldout))
    ppo_cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, name_or_path=str(out / "sft")),
                                  training=dataclasses.replace(cfg.training, output_dir=str(out / "ppo")))
    stage("StepCoder PPO", lambda: PPOTrainer(ppo_cfg).train())
    figures["after"] = stage("eval of the PPO model (AFTER)", lambda: heldout_pass_at_1(
        str(out / "ppo" / "policy"), cfg, out / "eval-ppo", heldout))
    write_run_report(out / "ppo")
    figures["minutes"] = sum(times.values()) / 60
    report = write_demo_report(out, figures, times, len(heldout))
    print(f"[demo] report: {report}")
    print(f"[demo] eval reports: {out / 'eval-start'}, {out / 'eval-sft'}, {out / 'eval-ppo'} (report.md each)")
    print(f"[demo] held-out problems: {len(heldout)}; total time {figures['minutes']:.1f} min")
    print(f"[demo] held-out pass@1 of the random-init model: {figures['start']:.3f}")
    print(f"held-out pass@1: {figures['before']:.3f} -> {figures['after']:.3f}")
    return figures


def write_demo_report(out: Path, figures: dict[str, float], times: dict[str, float], num_heldout: int) -> Path:
    """``out/report.md``: the demo's story on one page (held-out pass@1 per stage, time per
    stage, the training run's plots), linking to the run and eval reports it summarises."""
    from stepcoder.report.markdown import image, table

    stages = [["random init", "eval-start", figures["start"]], ["after SFT (BEFORE)", "eval-sft", figures["before"]],
              ["after StepCoder PPO (AFTER)", "eval-ppo", figures["after"]]]
    rows = [[name, f"{value:.3f}", f"[{folder}/report.md]({folder}/report.md)"] for name, folder, value in stages]
    plots = [("Reward and pass rate", "reward_pass.png"), ("CCCS stages", "curriculum.png"),
             ("Verdicts", "verdicts.png"), ("KL to the reference", "kl.png")]
    lines = [
        "# stepcoder demo: StepCoder on the embedded tiny default", "",
        f"Held-out pass@1 on {num_heldout} problems ({EVAL_SAMPLES} samples each at temperature 0.2, "
        "top-p 0.95; one sample for the random-init model):", "",
        table(["model", "held-out pass@1", "details"], rows), "",
        f"**held-out pass@1: {figures['before']:.3f} -> {figures['after']:.3f}**", "",
        table(["stage", "seconds"], [[name, f"{seconds:.0f}"] for name, seconds in times.items()]), "",
        "Training run: [ppo/report.md](ppo/report.md) (per-step metrics, sampled programs, an FGO mask).", "",
    ]
    for title, name in plots:
        if (out / "ppo" / "plots" / name).exists():
            lines += [f"### {title}", "", image(title, f"ppo/plots/{name}"), ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
