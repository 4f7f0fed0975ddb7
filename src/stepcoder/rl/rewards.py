"""Reward of one executed program from its verdict (StepCoder paper Eq. 3, as in CodeRL).

The sequence reward is placed on the last completion token by
:func:`stepcoder.rl.core.kl_penalized_rewards`; this module only maps verdicts to numbers.
A verdict arrives by name (``"PASS"``, ...) or as any enum member whose ``.value`` is that
name, such as the sandbox's ``Verdict``: rl/ imports nothing from the sandbox
(docs/ARCHITECTURE.md), and tests/test_rl_core.py checks that the two lists of names agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Every verdict the sandbox can give, by name.
VERDICT_NAMES = ("PASS", "WRONG_ANSWER", "RUNTIME_ERROR", "TIMEOUT", "MEMORY_LIMIT", "COMPILE_ERROR")


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


def verdict_reward(verdict: Any, cfg: RewardConfig | None = None) -> float:
    """Scalar reward of a program with this verdict (a name, or an enum member whose value
    is the name, such as ``stepcoder.sandbox.Verdict.PASS``).

    >>> verdict_reward("PASS")
    1.0
    >>> verdict_reward("TIMEOUT"), verdict_reward("COMPILE_ERROR")
    (-0.6, -1.0)
    >>> verdict_reward("WRONG_ANSWER", RewardConfig(wrong_answer=-0.5))
    -0.5
    """
    name = getattr(verdict, "value", verdict)
    if name not in VERDICT_NAMES:
        raise ValueError(f"unknown verdict {verdict!r}: expected one of {', '.join(VERDICT_NAMES)}")
    cfg = cfg or RewardConfig()
    table = {
        "PASS": cfg.pass_reward,
        "WRONG_ANSWER": cfg.wrong_answer,
        # the paper's "runtime error" covers every failure while running (Eq. 3, CodeRL).
        "RUNTIME_ERROR": cfg.runtime_error,
        "TIMEOUT": cfg.runtime_error,
        "MEMORY_LIMIT": cfg.runtime_error,
        "COMPILE_ERROR": cfg.compile_error,
    }
    return float(table[name])
