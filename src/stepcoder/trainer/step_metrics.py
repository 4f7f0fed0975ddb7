"""Metrics of one PPO step from the (all-process) rollout records, with the run-directory
contract's flat keys (``verdict/PASS``, ``curriculum/stage_0``, ...)."""

from __future__ import annotations

import resource
import sys
from typing import Any

from stepcoder.sandbox.result import Verdict
from stepcoder.trainer.experience import Rollout


def completion_token_texts(text: str, offsets: list[tuple[int, int]]) -> list[str]:
    """The text each completion token adds to ``text``, one string per token: spans of
    tokens that share a multi-byte character overlap (``stepcoder.rollout.offsets``), so a
    character goes to the first token covering it and the strings join back to the text;
    eos and stop tokens, clipped to the end, add ''."""
    pieces, shown = [], 0
    for start, end in offsets:
        start = max(start, shown)
        pieces.append(text[start:end] if end > start else "")
        shown = max(shown, end)
    return pieces


def rollout_record(r: Rollout) -> dict[str, Any]:
    """What every process needs of a rollout after the step: small, picklable, JSON-able.
    ``completion_tokens`` and ``fgo_mask`` (1 = the token counts in the policy loss) let a
    logged sample show which tokens FGO removed."""
    masked = 1.0 - sum(r.fgo_mask) / max(len(r.fgo_mask), 1)
    return {"problem_id": r.problem.id, "stage": r.stage, "prefix": r.prefix, "completion": r.completion,
            "verdict": r.result.verdict.value, "reward": r.reward, "fgo_masked_fraction": round(masked, 4),
            "tokens": len(r.completion_ids), "loss_tokens": sum(r.fgo_mask),
            "completion_tokens": completion_token_texts(r.text, r.token_offsets), "fgo_mask": [int(m) for m in r.fgo_mask]}


def rollout_metrics(records: list[dict[str, Any]]) -> dict[str, float]:
    """Reward, pass rate, verdict counts, FGO masked fraction over every rollout of the step,
    and the share of problems whose rollouts all got one reward or are one program."""
    n = len(records)
    out: dict[str, float] = {
        "reward_mean": sum(r["reward"] for r in records) / n,
        "pass_rate": sum(r["verdict"] == Verdict.PASS.value for r in records) / n,
    }
    for verdict in Verdict:
        out[f"verdict/{verdict.value}"] = sum(r["verdict"] == verdict.value for r in records)
    # a broken curriculum shows at a glance: prefixed rollouts that do not even compile
    prefixed = [r for r in records if r["prefix"]]
    out["cccs_prefixed_frac"] = len(prefixed) / n
    out["cccs_prefixed_compile_error_rate"] = (
        sum(r["verdict"] == Verdict.COMPILE_ERROR.value for r in prefixed) / len(prefixed) if prefixed else 0.0)
    # rollouts carry no contrast where a problem's group agrees: nothing to learn from it
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(r["problem_id"], []).append(r)
    out["groups/uniform_reward_frac"] = sum(len({r["reward"] for r in g}) == 1 for g in groups.values()) / len(groups)
    out["groups/identical_program_frac"] = (
        sum(len({r["prefix"] + r["completion"] for r in g}) == 1 for g in groups.values()) / len(groups))
    tokens = sum(r["tokens"] for r in records)
    # token-weighted: the share of the policy loss's completion tokens that FGO removed
    out["fgo/masked_fraction"] = 1.0 - sum(r["loss_tokens"] for r in records) / max(tokens, 1)
    out["completion/mean_tokens"] = tokens / n
    return out


def curriculum_metrics(summary: dict[str, Any], max_stage: int) -> dict[str, float]:
    """Problems per stage (stages 0..max_stage, zeros included) and the mean prefix fraction."""
    counts = summary["stage_counts"]
    out = {f"curriculum/stage_{s}": counts.get(str(s), 0) for s in range(max_stage + 1)}
    out["curriculum/mean_prefix_fraction"] = summary["mean_prefix_fraction"]
    out["curriculum/mean_stage"] = summary["mean_stage"]
    return out


def mean_over_processes(dicts: list[dict[str, float]]) -> dict[str, float]:
    """Key-wise mean of the processes' scalar metrics (losses, entropies, KL)."""
    keys = dicts[0].keys()
    return {k: sum(d[k] for d in dicts) / len(dicts) for k in keys}


def pick_samples(records: list[dict[str, Any]], step: int, n_per_problem: int, k: int) -> list[dict[str, Any]]:
    """The first rollout of each of the first ``k`` problems of the step (diverse problems)."""
    fields = ("problem_id", "stage", "prefix", "completion", "verdict", "reward", "fgo_masked_fraction",
              "completion_tokens", "fgo_mask")
    return [{"step": step, **{f: records[i][f] for f in fields}} for i in range(0, len(records), n_per_problem)][:k]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (``ru_maxrss`` is in KiB on Linux,
    in bytes on macOS). Host memory only: GPU memory is not included."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
