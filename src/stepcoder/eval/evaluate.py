"""`evaluate`: sample programs from a loaded model, run them, score pass@k; resumable."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stepcoder.eval.config import EvalConfig
from stepcoder.eval.generation import GenerateFn, generate_batch, plan_batches, prompt_config
from stepcoder.eval.passk import ProblemOutcome, aggregate_pass_at_k
from stepcoder.eval.score import result_text
from stepcoder.eval.store import SampleStore
from stepcoder.problems.types import Problem
from stepcoder.sandbox import Sandbox, SandboxConfig


@dataclass
class EvalResult:
    """What an evaluation measured (also written to ``eval.json``)."""

    pass_at_k: dict[str, dict[str, float]]  # "Overall" / difficulty -> {"pass@k": value}
    by_verdict: dict[str, int]  # verdict name -> number of samples
    num_problems: int
    n: int  # samples per problem
    output_dir: Path
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def overall(self) -> dict[str, float]:
        return self.pass_at_k.get("Overall", {})


def default_sandbox_config(cfg: EvalConfig) -> Any:
    """Sandbox defaults with coverage off (eval needs verdicts only) and the --timeout."""
    config = SandboxConfig(coverage=False)
    return config if cfg.timeout is None else dataclasses.replace(config, timeout_s=cfg.timeout)


def run_settings(cfg: EvalConfig, problems: Sequence[Problem]) -> dict[str, Any]:
    """Settings stored in eval_config.json: the config plus a fingerprint of the problem ids."""
    ids = "\n".join(p.id for p in problems).encode()
    return {**cfg.sample_settings(), "num_problems": len(problems), "problem_ids_sha256": hashlib.sha256(ids).hexdigest()}


def summarise(records: list[dict[str, Any]], problems: Sequence[Problem], cfg: EvalConfig, output_dir: Path) -> EvalResult:
    """pass@k per difficulty and the verdict counts of the finished samples."""
    passed = Counter(r["task_id"] for r in records if r["passed"])
    made = Counter(r["task_id"] for r in records)
    outcomes = [ProblemOutcome(p.id, made[p.id], passed[p.id], p.difficulty) for p in problems]
    return EvalResult(
        pass_at_k=aggregate_pass_at_k(outcomes, cfg.k),
        by_verdict=dict(Counter(r["verdict"] for r in records)),
        num_problems=len(problems), n=cfg.n_samples, output_dir=output_dir, records=records,
    )


def write_eval_json(result: EvalResult, cfg: EvalConfig) -> Path:
    data = {"model": cfg.model, "data": cfg.data, "n": cfg.n_samples, "k": list(cfg.k),
            "pass_at_k": result.pass_at_k, "by_verdict": result.by_verdict,
            "num_problems": result.num_problems, "num_samples": len(result.records),
            "settings": dataclasses.asdict(cfg)}
    path = result.output_dir / "eval.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _execute(sandbox: Any, problems_by_id: dict[str, Problem], records: list[dict[str, Any]]) -> None:
    results = sandbox.run_batch([(problems_by_id[r["task_id"]], r["program"]) for r in records])
    for rec, res in zip(records, results, strict=True):
        rec.update(verdict=res.verdict.value, passed=res.passed, result=result_text(res))


def evaluate(model: Any, tokenizer: Any, problems: Sequence[Problem], cfg: EvalConfig, output_dir: str | Path,
             sandbox_config: Any = None, generate: GenerateFn | None = None, write_report: bool = True,
             progress: bool = True) -> EvalResult:
    """Make ``cfg.n_samples`` samples per problem with ``model``, execute and score them.

    Samples already in ``output_dir/samples.jsonl`` are kept and not made again, so a killed
    run resumes where it stopped; a directory made with other settings is refused
    (:class:`~stepcoder.eval.store.EvalSettingsError`). ``generate`` replaces the sampler
    (default: ``stepcoder.rollout``). Writes eval.json, report.md and plots/pass_at_k.png.
    """
    from tqdm.auto import tqdm

    output_dir = Path(output_dir)
    problems = list(problems)[: cfg.limit] if cfg.limit else list(problems)
    store = SampleStore(output_dir)
    store.check_settings(run_settings(cfg, problems))
    done = {(r["task_id"], r["sample_idx"]) for r in store.load()}
    by_id = {p.id: p for p in problems}
    batches = [b for b in plan_batches(len(problems), cfg.n_samples, cfg.batch_size)
               if any((problems[s.problem_index].id, s.sample_idx) not in done for s in b)]
    missing = len(problems) * cfg.n_samples - len(done)
    if batches:
        pcfg = prompt_config(cfg)  # read once: a model's prompt_config.json does not change mid-run
        with Sandbox(sandbox_config or default_sandbox_config(cfg)) as sandbox, \
                tqdm(total=missing, desc="eval", unit="sample", disable=not progress) as bar:
            for batch in batches:
                # A batch cut short by a kill is made again whole (same seed, same samples);
                # only its missing samples are kept.
                new = [r for r in generate_batch(model, tokenizer, problems, batch, cfg, pcfg, generate)
                       if (r["task_id"], r["sample_idx"]) not in done]
                _execute(sandbox, by_id, new)
                store.append(new)
                bar.update(len(new))
    result = summarise(store.load(), problems, cfg, output_dir)
    write_eval_json(result, cfg)
    if write_report:
        from stepcoder.report import write_eval_report  # lazy: matplotlib stays out of --help

        write_eval_report(output_dir)
    return result
