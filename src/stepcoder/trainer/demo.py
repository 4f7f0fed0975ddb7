"""The end-to-end demo on the embedded tiny default: SFT warm start -> held-out pass@1
(BEFORE) -> StepCoder PPO -> held-out pass@1 (AFTER), the gain with a paired bootstrap
interval, and a one-page report. Its stages are also the ablation's (``ablation.py``): each
one skips work a previous, interrupted run already finished, so both are resumable.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from stepcoder.data import tiny_dataset_path
from stepcoder.eval import EvalConfig, evaluate, paired_bootstrap, per_problem_pass_rate
from stepcoder.problems import load_problems
from stepcoder.prompts import PROMPT_FILE
from stepcoder.trainer.config import TrainConfig
from stepcoder.trainer.problems import TINY, load_heldout_problems

logger = logging.getLogger(__name__)

# Held-out measurement: greedy pass@1, one sample per problem. Greedy decoding makes the
# measurement a function of the model alone (no sampling noise, so the paired interval holds
# only the problem sampling noise) and costs half of the paper's two samples at T = 0.2; a
# batch of 256 rows costs about what 64 do on a CPU (per-token overhead dominates).
EVAL_SAMPLES = 1
EVAL_BATCH = 256


@dataclasses.dataclass
class HeldoutEval:
    """pass@1 of one model on one problem set, per problem (for paired comparisons)."""

    pass_at_1: float
    per_problem: dict[str, float]
    by_verdict: dict[str, int]


def heldout_eval(model_path: str | Path, cfg: TrainConfig, out_dir: Path, problems, samples: int = EVAL_SAMPLES) -> HeldoutEval:
    """Evaluate ``model_path`` on ``problems`` into ``out_dir`` (resumable: finished samples
    are kept), with the prompt settings the model carries."""
    from stepcoder.models import ModelConfig, load_policy, load_tokenizer  # lazy: torch stays out of --help

    model_cfg = ModelConfig(name_or_path=str(model_path))
    tokenizer, model = load_tokenizer(model_cfg), load_policy(model_cfg)
    eval_cfg = EvalConfig(model=str(model_path), n_samples=samples, k=(1,), greedy=samples == 1,
                          max_new_tokens=cfg.sampling.max_new_tokens, batch_size=EVAL_BATCH, seed=cfg.training.seed)
    result = evaluate(model, tokenizer, problems, eval_cfg, out_dir, sandbox_config=dataclasses.replace(cfg.sandbox, coverage=False),
                      progress=False)
    return HeldoutEval(result.pass_at_k["Overall"]["pass@1"], per_problem_pass_rate(result.records), result.by_verdict)


def group_rates(problems, before: dict[str, float], after: dict[str, float]) -> dict[str, tuple[float, float, int]]:
    """Mean pass rate per group of problems before and after: a tiny problem's family
    (``meta["family"]``), else its difficulty. Name -> (before, after, number of problems)."""
    groups: dict[str, list[str]] = {}
    for p in problems:
        if p.id in before and p.id in after:
            groups.setdefault(str(p.meta.get("family") or p.difficulty or "all"), []).append(p.id)
    return {name: (sum(before[i] for i in ids) / len(ids), sum(after[i] for i in ids) / len(ids), len(ids))
            for name, ids in groups.items()}


def sft_stage(cfg: TrainConfig, out: Path) -> str | Path:
    """The model RL starts from: ``model.name_or_path`` itself when ``sft.epochs`` is 0 (a
    model that is trained already, e.g. the shipped ``tiny-sft``), else an SFT of it into
    ``out`` (skipped when a finished SFT model is there already)."""
    from stepcoder.trainer.sft import run_sft  # lazy: torch stays out of --help

    if cfg.sft.epochs == 0:
        return cfg.model.name_or_path
    if not (out / PROMPT_FILE).exists():  # written last: its presence means the model is complete
        run_sft(cfg, out)
    return out


def ppo_stage(cfg: TrainConfig, sft_model: str | Path, out: Path) -> Path:
    """PPO from ``sft_model`` into ``out``; continues an interrupted run, skips a finished one."""
    from stepcoder.trainer.ppo import PPOTrainer  # lazy: torch stays out of --help

    policy = out / "policy"
    if not (policy / PROMPT_FILE).exists():
        ppo_cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, name_or_path=str(sft_model)),
                                      training=dataclasses.replace(cfg.training, output_dir=str(out)))
        PPOTrainer(ppo_cfg).train(resume=(out / "metrics.jsonl").exists())
    return policy


def is_tiny_default(cfg: TrainConfig) -> bool:
    """Whether the run trains and measures on the embedded tiny data."""
    return cfg.data.train_path == TINY and cfg.data.heldout_path == TINY


def ood_problems(cfg: TrainConfig) -> list:
    """The tiny default's out-of-family split (families no train problem comes from), or []
    for other data."""
    if not is_tiny_default(cfg):
        return []
    return load_problems(tiny_dataset_path("ood"))


def run_demo(cfg: TrainConfig, out_dir: str | Path) -> dict[str, Any]:
    """Run every stage into ``out_dir`` (sft/, eval-sft/, ppo/, eval-ppo/, report.md)."""
    from stepcoder.report import write_run_report  # lazy: matplotlib stays out of --help

    out = Path(out_dir)
    heldout, ood = load_heldout_problems(cfg.data), ood_problems(cfg)
    times: dict[str, float] = {}

    def stage(name: str, fn):
        start = time.perf_counter()
        print(f"[demo] {name} ...", flush=True)
        value = fn()
        times[name] = time.perf_counter() - start
        print(f"[demo] {name}: {times[name]:.0f} s", flush=True)
        return value

    warm = "SFT warm start" if cfg.sft.epochs else f"warm start {cfg.model.name_or_path} (no SFT: sft.epochs is 0)"
    sft = stage(warm, lambda: sft_stage(cfg, out / "sft"))
    before = stage("held-out eval of the SFT model (BEFORE)", lambda: heldout_eval(sft, cfg, out / "eval-sft", heldout))
    policy = stage("StepCoder PPO", lambda: ppo_stage(cfg, sft, out / "ppo"))
    after = stage("held-out eval of the PPO model (AFTER)", lambda: heldout_eval(policy, cfg, out / "eval-ppo", heldout))
    gain = paired_bootstrap(before.per_problem, after.per_problem, seed=cfg.training.seed)
    ood_gain = None
    if ood:
        ood_gain = stage("out-of-family eval, both models", lambda: paired_bootstrap(
            heldout_eval(sft, cfg, out / "eval-sft-ood", ood).per_problem,
            heldout_eval(policy, cfg, out / "eval-ppo-ood", ood).per_problem, seed=cfg.training.seed))
    write_run_report(out / "ppo")
    figures = {"before": gain.before, "after": gain.after, "gain": gain.gain, "ci": [gain.lo, gain.hi],
               "heldout_problems": gain.n, "minutes": sum(times.values()) / 60,
               "ood": dataclasses.asdict(ood_gain) if ood_gain else None, "seconds": times}
    subject = None if is_tiny_default(cfg) else f"{cfg.model.name_or_path}: {Path(cfg.data.train_path).name} -> {Path(cfg.data.heldout_path).name}"
    report = write_demo_report(out, gain, ood_gain, times, before, after,
                               group_rates(heldout, before.per_problem, after.per_problem), subject)
    print(f"[demo] report: {report}")
    print(f"[demo] total time {figures['minutes']:.1f} min")
    if ood_gain is not None:
        print(f"[demo] {ood_gain.line(f'out-of-family pass@1 ({ood_gain.n} problems, not in the figure below)')}")
    print(f"held-out problems: {gain.n}")
    print(gain.line())
    return figures


def write_demo_report(out: Path, gain, ood_gain, times: dict[str, float], before: HeldoutEval, after: HeldoutEval,
                      groups: dict[str, tuple[float, float, int]] | None = None, subject: str | None = None) -> Path:
    """``out/report.md``: the demo's story on one page (held-out pass@1 before and after with
    the paired interval, per group when ``groups`` has more than one, verdicts, time per stage,
    the training run's plots). ``subject`` names the model and data; None = the tiny default."""
    from stepcoder.report.markdown import image, table  # lazy: matplotlib (the report package) stays out of --help
    from stepcoder.report.plots import plot_before_after

    verdicts = sorted(set(before.by_verdict) | set(after.by_verdict))
    rows = [["after SFT (BEFORE)", f"{gain.before:.3f}", *(before.by_verdict.get(v, 0) for v in verdicts), "[eval-sft/report.md](eval-sft/report.md)"],
            ["after StepCoder PPO (AFTER)", f"{gain.after:.3f}", *(after.by_verdict.get(v, 0) for v in verdicts), "[eval-ppo/report.md](eval-ppo/report.md)"]]
    plots = [("Reward and pass rate", "reward_pass.png"), ("CCCS stages", "curriculum.png"),
             ("CCCS, FGO and policy movement", "method.png"), ("Verdicts", "verdicts.png"),
             ("KL to the reference", "kl.png")]
    lines = [
        f"# stepcoder demo: StepCoder on {subject or 'the embedded tiny default'}", "",
        f"Held-out pass@1 on {gain.n} problems ({'' if subject else 'new instances of the training families; '}"
        "greedy decoding, one sample each). The interval is a paired bootstrap over problems.", "",
        table(["model", "held-out pass@1", *verdicts, "details"], rows), "",
        f"**{gain.line()}**", "",
    ]
    if ood_gain is not None:
        lines += [f"Out-of-family problems (families no train problem comes from; not part of the figure above): "
                  f"{ood_gain.line('pass@1')} on {ood_gain.n} problems.", ""]
    if groups and len(groups) > 1 and plot_before_after(groups, out / "plots" / "heldout_by_group.png", "Held-out pass@1 before and after RL"):
        moved = sorted(groups.items(), key=lambda kv: kv[1][1] - kv[1][0])
        by_group = [[name, n, f"{b:.2f}", f"{a:.2f}", f"{100 * (a - b):+.1f}"] for name, (b, a, n) in reversed(moved)]
        lines += ["### Held-out pass@1 per group", "", "Where the gain comes from, and what got worse (sorted by change).", "",
                  image("Held-out pass@1 per group", "plots/heldout_by_group.png"), "",
                  table(["group", "problems", "before", "after", "change (points)"], by_group), ""]
    lines += [table(["stage", "seconds"], [[name, f"{seconds:.0f}"] for name, seconds in times.items()]), "",
              "Training run: [ppo/report.md](ppo/report.md) (per-step metrics, sampled programs, an FGO mask).", ""]
    for title, name in plots:
        if (out / "ppo" / "plots" / name).exists():
            lines += [f"### {title}", "", image(title, f"ppo/plots/{name}"), ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
