"""Reward of one executed program from its verdict (StepCoder paper Eq. 3, as in CodeRL).

The sequence reward is placed on the last completion token by
:func:`stepcoder.rl.core.kl_penalized_rewards`; this module only maps verdicts to numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stepcoder.sandbox.result import Verdict


@dataclass
class RewardConfig:
    """Reward for each verdict (StepCoder paper Eq. 3, after CodeRL)."""

    pass_reward: float = field(default=1.0, metadata={"help": "Reward of a program that passes every test."})
    wrong_answer: float = field(default=-0.3, metadata={"help": "Reward when some test gives a wrong output."})
    runtime_error: float = field(
        default=-0.6,
        metadata={"help": "Reward of a runtime error; also used for TIMEOUT and MEMORY_LIMIT."},
    )
    compile_error: float = field(
        default=-1.0, metadata={"help": "Reward of a program that does not compile (SyntaxError etc.)."}
    )


def verdict_reward(verdict: Verdict | str, cfg: RewardConfig | None = None) -> float:
    """Scalar reward of a program with this verdict.

    >>> verdict_reward(Verdict.PASS)
    1.0
    >>> verdict_reward(Verdict.TIMEOUT), verdict_reward("COMPILE_ERROR")
    (-0.6, -1.0)
    >>> verdict_reward(Verdict.WRONG_ANSWER, RewardConfig(wrong_answer=-0.5))
    -0.5
    """
    cfg = cfg or RewardConfig()
    verdict = Verdict(verdict)
    table = {
        Verdict.PASS: cfg.pass_reward,
        Verdict.WRONG_ANSWER: cfg.wrong_answer,
        # the paper's "runtime error" covers every failure while running (Eq. 3, CodeRL).
        Verdict.RUNTIME_ERROR: cfg.runtime_error,
        Verdict.TIMEOUT: cfg.runtime_error,
        Verdict.MEMORY_LIMIT: cfg.runtime_error,
        Verdict.COMPILE_ERROR: cfg.compile_error,
    }
    return float(table[verdict])
