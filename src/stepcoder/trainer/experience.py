"""One step's experience: prompts from the curriculum, sampled completions, their execution,
rewards and FGO masks, and the packed tensors of the PPO batch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from stepcoder.curriculum import Curriculum, build_prompt, extract_completion
from stepcoder.masking import fgo_token_mask
from stepcoder.problems import Problem
from stepcoder.rl import RolloutBatch, verdict_reward
from stepcoder.sandbox.result import ExecResult
from stepcoder.trainer.config import TrainConfig
from stepcoder.trainer.packing import pack, scatter_completion_values


@dataclass
class Rollout:
    """One sampled program and everything learned about it."""

    problem: Problem
    group: int  # index of the problem in this step's batch (rows of one group share a prompt)
    stage: int  # CCCS stage the prompt was built at
    prefix: str  # canonical-solution prefix given in the prompt
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


def stop_sequences(cfg: TrainConfig, tokenizer) -> list[str]:
    """Where sampling stops: the sampling section's own stops plus the prompt template's."""
    from stepcoder.curriculum.prompts import resolve_template
    from stepcoder.trainer.examples import FENCED_TEMPLATES

    stops = list(cfg.sampling.stop) + list(cfg.prompt.stop_sequences(tokenizer))
    if resolve_template(cfg.prompt, tokenizer) in FENCED_TEMPLATES:
        stops.append("\n```")  # the closing fence (its newline stays in the program)
    return list(dict.fromkeys(s for s in stops if s))


def sample_rollouts(model, tokenizer, problems: list[Problem], curriculum: Curriculum, cfg: TrainConfig,
                    seed: int) -> list[Rollout]:
    """``cfg.sampling.n`` completions per problem, each continuing its CCCS prefix."""
    from stepcoder.rollout import generate_completions

    prefixes = [curriculum.prefix_for(p) for p in problems]
    prompts = [build_prompt(p, prefix, cfg.prompt, tokenizer) for p, prefix in zip(problems, prefixes)]
    sampling = dataclasses.replace(cfg.sampling, seed=seed, stop=stop_sequences(cfg, tokenizer))
    groups = generate_completions(model, tokenizer, prompts, sampling)
    rollouts = []
    for g, (problem, prefix, completions) in enumerate(zip(problems, prefixes, groups, strict=True)):
        for c in completions:
            ids, offsets = list(c.completion_ids), list(c.token_offsets)
            if not ids:  # nothing generated: the EOS decision is the one action to learn from
                ids, offsets = [tokenizer.eos_token_id], [(len(c.text), len(c.text))]
            completion = extract_completion(c.text, cfg.prompt, tokenizer)
            rollouts.append(Rollout(problem, g, curriculum.stage(problem), prefix, list(c.prompt_ids), ids, c.text,
                                    completion, offsets, str(getattr(c, "finish_reason", ""))))
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
