"""One step's experience: prompts from the curriculum, sampled completions, their execution,
rewards and FGO masks, and the packed tensors of the PPO batch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from stepcoder.curriculum import Curriculum
from stepcoder.masking import fgo_token_mask
from stepcoder.problems import Problem
from stepcoder.prompts import batch_stops, make_prompt, uses_completion_form
from stepcoder.rl import RolloutBatch, verdict_reward
from stepcoder.rollout import generate_completions
from stepcoder.sandbox.result import ExecResult
from stepcoder.trainer.config import TrainConfig
from stepcoder.trainer.packing import pack, scatter_completion_values


@dataclass
class Rollout:
    """One sampled program and everything learned about it."""

    problem: Problem
    group: int  # index of the problem in this step's batch (rows of one group share a prompt)
    stage: int  # CCCS stage the prompt was built at
    prefix: str  # program text in the prompt: the CCCS prefix healed to a token boundary
    prompt_ids: list[int]
    completion_ids: list[int]  # the actions (at least one token)
    text: str  # decoded completion as generated
    completion: str  # program text the model wrote: ``text`` cut at the closing fence or a stop
    token_offsets: list[tuple[int, int]]  # char span of each completion token in ``text``
    finish_reason: str = ""
    result: ExecResult | None = None
    reward: float = 0.0
    fgo_mask: list[int] = field(default_factory=list)

    @property
    def program(self) -> str:
        """What is executed and rewarded: prefix + completion (StepCoder §3.2, CCCS)."""
        return self.prefix + self.completion


def sample_rollouts(model, tokenizer, problems: list[Problem], curriculum: Curriculum, cfg: TrainConfig,
                    seed: int) -> list[Rollout]:
    """``cfg.sampling.n`` completions per problem, each continuing its CCCS prefix (healed to
    a token boundary by ``stepcoder.prompts``, the same prompts evaluation uses)."""
    # completion-form (HumanEval) problems continue their own prompt: no CCCS prefix there
    prompts = [make_prompt(p, "" if uses_completion_form(p) else curriculum.prefix_for(p), cfg.prompt, tokenizer)
               for p in problems]
    sampling = dataclasses.replace(cfg.sampling, seed=seed, stop=list(batch_stops(prompts, cfg.sampling.stop)))
    groups = generate_completions(model, tokenizer, [p.text for p in prompts], sampling)
    rollouts = []
    for g, (problem, prompt, completions) in enumerate(zip(problems, prompts, groups, strict=True)):
        for c in completions:
            ids, offsets = list(c.completion_ids), list(c.token_offsets)
            if not ids:  # nothing generated: the EOS decision is the one action to learn from
                ids, offsets = [tokenizer.eos_token_id], [(len(c.text), len(c.text))]
            completion = prompt.completion(c.text, cfg.prompt, tokenizer)
            rollouts.append(Rollout(problem, g, curriculum.stage(problem), prompt.program_prefix, list(c.prompt_ids),
                                    ids, c.text, completion, offsets, str(getattr(c, "finish_reason", ""))))
    return rollouts


def execute(sandbox, rollouts: list[Rollout]) -> None:
    """Run every program against its problem's tests (a SandboxError propagates: an
    infrastructure failure is never a verdict)."""
    results = sandbox.run_batch([(r.problem, r.program) for r in rollouts])
    for r, result in zip(rollouts, results, strict=True):
        r.result = result


def score(rollouts: list[Rollout], cfg: TrainConfig) -> None:
    """Reward from the verdict (paper Eq. 3) and the FGO mask over the completion tokens."""
    for r in rollouts:
        r.reward = verdict_reward(r.result.verdict, cfg.reward)
        if cfg.fgo.enabled:
            r.fgo_mask = fgo_token_mask(r.program, len(r.prefix), r.token_offsets,
                                        r.result.executed_lines or (), r.result.verdict)
        else:
            r.fgo_mask = [1] * len(r.completion_ids)


def select_groups(rollouts: list[Rollout], keep: int) -> list[Rollout]:
    """The rollouts of ``keep`` problems to train on (dynamic sampling, ``ppo.oversample``):
    problems whose rollouts got different rewards first, then the others, each in draw order;
    group ids renumbered 0..keep-1. A group whose rewards agree has no contrast to learn from
    (its group-relative advantage is 0; under GAE only the critic's error moves it), so the
    update goes where the rollouts disagree. Always ``keep`` groups when there are that many,
    so every process trains on a batch of the same size."""
    groups = _groups(rollouts)
    picked = sorted(groups, key=lambda g: not _has_contrast(g))[:keep]  # stable: draw order within each kind
    picked.sort(key=lambda g: g[0].group)  # draw order: the batch does not depend on the split
    return [dataclasses.replace(r, group=new) for new, g in enumerate(picked) for r in g]


def mixed_fraction(rollouts: list[Rollout]) -> float:
    """Share of the problems among ``rollouts`` whose rollouts got different rewards."""
    groups = _groups(rollouts)
    return sum(map(_has_contrast, groups)) / max(len(groups), 1)


def _groups(rollouts: list[Rollout]) -> list[list[Rollout]]:
    """The rollouts of each problem (group), in draw order."""
    groups: dict[int, list[Rollout]] = {}
    for r in rollouts:
        groups.setdefault(r.group, []).append(r)
    return list(groups.values())


def _has_contrast(group: list[Rollout]) -> bool:
    return len({r.reward for r in group}) > 1


def to_batch(rollouts: list[Rollout], pad_id: int) -> RolloutBatch:
    """Packed tensors; log-probs, values and advantages are filled in later phases."""
    packed = pack([r.prompt_ids for r in rollouts], [r.completion_ids for r in rollouts], pad_id)
    loss_mask = packed.action_mask * scatter_completion_values(packed, [[float(m) for m in r.fgo_mask] for r in rollouts])
    return RolloutBatch(
        input_ids=packed.input_ids, attention_mask=packed.attention_mask, action_mask=packed.action_mask,
        loss_mask=loss_mask, old_logprobs=torch.zeros_like(packed.action_mask),
        seq_rewards=torch.tensor([r.reward for r in rollouts], dtype=torch.float32),
        group_ids=torch.tensor([r.group for r in rollouts], dtype=torch.long),
    )
