"""CCCS: the Curriculum of Code Completion Subtasks (StepCoder §3.2, Algorithm 1).

Early in training the model is given most of the canonical solution and only completes its
end; each problem's prefix shrinks by one stage when its moving pass rate crosses a
threshold, until the model writes the whole program (stage 0, plain generation).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from stepcoder.curriculum.blocks import DEFAULT_SPLIT_KINDS, SPLIT_KINDS, split_points
from stepcoder.problems.types import Problem

STATE_VERSION = 1


@dataclass
class CurriculumConfig:
    """Settings of the CCCS curriculum. The paper gives no values for ``alpha`` and
    ``rho_threshold``; ours are reasoned in docs/IMPLEMENTATION_DETAILS.md ("CCCS")."""

    enabled: bool = field(
        default=True,
        metadata={"help": "Use the curriculum; off = every prompt is plain generation and updates are ignored."},
    )
    alpha: float = field(
        default=0.1,
        metadata={"help": "Smoothing of the per-problem moving pass rate rho (weight of the newest rollout)."},
    )
    rho_threshold: float = field(
        default=0.5,
        metadata={"help": "rho_t: when rho exceeds it the problem moves one stage down (shorter prefix) and rho resets to 0."},
    )
    split_kinds: tuple[str, ...] = field(
        default=DEFAULT_SPLIT_KINDS,
        metadata={"help": f"Statements whose starts are split points; any of {', '.join(SPLIT_KINDS)} (paper: conditional statements)."},
    )
    start_stage: int | str = field(
        default="auto",
        metadata={"help": "'auto' = K-1 (the paper); 0 = plain generation ('w/o CCCS'); n = min(n, K-1)."},
    )

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha={self.alpha}: must be in (0, 1], it is the weight of the newest rollout in rho")
        if not 0.0 <= self.rho_threshold < 1.0:
            # rho never exceeds 1, so a threshold >= 1 would freeze every problem at its stage.
            raise ValueError(f"rho_threshold={self.rho_threshold}: must be in [0, 1), rho never exceeds 1")
        self.split_kinds = (self.split_kinds,) if isinstance(self.split_kinds, str) else tuple(self.split_kinds)
        unknown = set(self.split_kinds) - set(SPLIT_KINDS)
        if unknown or not self.split_kinds:
            raise ValueError(f"split_kinds={self.split_kinds}: choose one or more of {SPLIT_KINDS}")
        if self.start_stage != "auto" and not (isinstance(self.start_stage, int) and self.start_stage >= 0):
            raise ValueError(f"start_stage={self.start_stage!r}: 'auto' or a non-negative integer")


def num_stages(num_split_points: int) -> tuple[int, int]:
    """``(K, s)`` of Algorithm 1 for E split points: K = ceil(sqrt(E)) stages, stride
    s = ceil(E / K). E = 0 gives (0, 0): no curriculum.

    >>> num_stages(10)
    (4, 3)
    """
    if num_split_points == 0:
        return 0, 0
    k = math.isqrt(num_split_points - 1) + 1  # ceil(sqrt(E)) without float error
    return k, -(-num_split_points // k)


@dataclass
class _ProblemState:
    """Curriculum state of one problem: split offsets into its solution, stage, rho."""

    solution: str
    offsets: list[int]
    stage: int = 0
    rho: float = 0.0

    @property
    def k_s(self) -> tuple[int, int]:
        return num_stages(len(self.offsets))

    def prefix(self) -> str:
        # Split points are numbered from 1 as in the paper (p_1 .. p_E): stage c ends the
        # prefix at the start of the (s*c)-th one; c = 0 is the empty prefix.
        if self.stage == 0:
            return ""
        _, stride = self.k_s
        return self.solution[: self.offsets[stride * self.stage - 1]]


class Curriculum:
    """Per-problem CCCS state. ``prefix_for(problem)`` gives the canonical-solution prefix to
    put in the prompt; ``update(problem_id, passed)`` after each rollout of that problem.

    Problems without a solution, or whose solution has no split point (E = 0) or does not
    parse, are always plain generation.
    """

    def __init__(self, problems: Iterable[Problem], config: CurriculumConfig | None = None):
        self.config = config or CurriculumConfig()
        self._states: dict[str, _ProblemState] = {}
        for problem in problems:
            self.add(problem)

    def add(self, problem: Problem) -> None:
        """Register a problem at its start stage (idempotent for a known id)."""
        if problem.id in self._states:
            return
        solution = problem.solution or ""
        try:
            offsets = [p.offset for p in split_points(solution, self.config.split_kinds)] if solution else []
        except SyntaxError:
            offsets = []  # a canonical solution that does not parse cannot be split
        state = _ProblemState(solution, offsets)
        state.stage = self._start_stage(state)
        self._states[problem.id] = state

    def _start_stage(self, state: _ProblemState) -> int:
        k, _ = state.k_s
        last = max(k - 1, 0)
        if not self.config.enabled:
            return 0
        if self.config.start_stage == "auto":
            return last
        return min(int(self.config.start_stage), last)

    def _state(self, problem: Problem | str) -> _ProblemState:
        if isinstance(problem, Problem):
            self.add(problem)
            return self._states[problem.id]
        try:
            return self._states[problem]
        except KeyError:
            raise KeyError(f"problem {problem!r} is not in the curriculum") from None

    def prefix_for(self, problem: Problem | str) -> str:
        """The prefix of the canonical solution the model continues ("" = plain generation)."""
        return self._state(problem).prefix()

    def stage(self, problem: Problem | str) -> int:
        return self._state(problem).stage

    def rho(self, problem: Problem | str) -> float:
        return self._state(problem).rho

    def num_stages(self, problem: Problem | str) -> int:
        """K of the problem (0 when it has no split point)."""
        return self._state(problem).k_s[0]

    def update(self, problem_id: str, passed: bool) -> bool:
        """Record one rollout of ``problem_id`` (Algorithm 1); returns True when the problem
        moved one stage down (a shorter prefix)."""
        if not self.config.enabled:
            return False
        state = self._state(problem_id)
        alpha = self.config.alpha
        state.rho = alpha + (1 - alpha) * state.rho if passed else (1 - alpha) * state.rho
        if state.rho > self.config.rho_threshold:
            state.rho = 0.0
            # The paper prints min(c-1, 0), a typo for max(c-1, 0).
            moved = state.stage > 0
            state.stage = max(state.stage - 1, 0)
            return moved
        return False

    def reset(self, start_stage: str | int | None = None) -> None:
        """Put every problem back at its start stage with rho = 0 (optionally a new start)."""
        if start_stage is not None:
            self.config = CurriculumConfig(**{**asdict(self.config), "start_stage": start_stage})
        for state in self._states.values():
            state.rho = 0.0
            state.stage = self._start_stage(state)

    def summary(self) -> dict[str, Any]:
        """Numbers for logging: problems per stage, mean prefix fraction len(prefix)/len(solution)
        over problems with a solution, and the fraction at plain generation."""
        counts: dict[str, int] = {}
        fractions = []
        plain = 0
        for state in self._states.values():
            counts[str(state.stage)] = counts.get(str(state.stage), 0) + 1
            prefix = state.prefix()
            plain += prefix == ""
            if state.solution:
                fractions.append(len(prefix) / len(state.solution))
        n = len(self._states)
        return {
            "num_problems": n,
            "stage_counts": dict(sorted(counts.items(), key=lambda kv: int(kv[0]))),
            "mean_stage": sum(s.stage for s in self._states.values()) / n if n else 0.0,
            "mean_prefix_fraction": sum(fractions) / len(fractions) if fractions else 0.0,
            "plain_fraction": plain / n if n else 0.0,
        }

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state: config and, per problem id, stage, rho and K."""
        return {
            "version": STATE_VERSION,
            "config": {**asdict(self.config), "split_kinds": list(self.config.split_kinds)},
            "problems": {
                pid: {"stage": s.stage, "rho": s.rho, "num_stages": s.k_s[0]} for pid, s in self._states.items()
            },
        }

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Restore stages and rho (the config stays this object's own; the split kinds must be
        the saved ones). ``strict``: the problem ids must match exactly. A problem whose number
        of stages changed (a different solution) is an error."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"curriculum state version {state.get('version')!r}, expected {STATE_VERSION}")
        saved_kinds = tuple(state["config"]["split_kinds"])
        if saved_kinds != self.config.split_kinds:
            raise ValueError(f"curriculum state uses split kinds {saved_kinds}, this config {self.config.split_kinds}")
        saved = state["problems"]
        if strict and set(saved) != set(self._states):
            missing, extra = set(self._states) - set(saved), set(saved) - set(self._states)
            raise ValueError(f"curriculum state does not match the problems: {len(missing)} missing, {len(extra)} unknown")
        for pid, entry in saved.items():
            current = self._states.get(pid)
            if current is None:
                continue
            if entry["num_stages"] != current.k_s[0]:
                raise ValueError(f"problem {pid!r}: saved with K={entry['num_stages']} stages, now K={current.k_s[0]}")
            current.stage, current.rho = int(entry["stage"]), float(entry["rho"])

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.state_dict(), indent=1) + "\n")

    def load(self, path: str | Path, strict: bool = True) -> None:
        self.load_state_dict(json.loads(Path(path).read_text()), strict=strict)
