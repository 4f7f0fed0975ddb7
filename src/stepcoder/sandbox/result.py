"""Verdicts and execution results: the sandbox's only output type.

An infrastructure failure that the program cannot have caused (a broken test in the data, a
worker out of the program's reach that died twice) is raised as :class:`SandboxError`; it
is never turned into a verdict, so a trainer cannot mistake "the sandbox broke" for "the
program is wrong". What a program can cause (a malformed report, a stopped sandbox process
it could reach, a blocked process) is that program's verdict, and the batch goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    """Outcome of one test, or of a whole program (the worst of its tests)."""

    PASS = "PASS"
    WRONG_ANSWER = "WRONG_ANSWER"
    RUNTIME_ERROR = "RUNTIME_ERROR"
    TIMEOUT = "TIMEOUT"
    MEMORY_LIMIT = "MEMORY_LIMIT"
    COMPILE_ERROR = "COMPILE_ERROR"

    @property
    def severity(self) -> int:
        """Order used to combine tests into one verdict (higher is worse), as in CodeRL's
        reward: a compile error beats any runtime failure, which beats a wrong answer.

        >>> max([Verdict.WRONG_ANSWER, Verdict.TIMEOUT], key=lambda v: v.severity).name
        'TIMEOUT'
        """
        return _SEVERITY[self]


_SEVERITY = {
    Verdict.PASS: 0,
    Verdict.WRONG_ANSWER: 1,
    Verdict.RUNTIME_ERROR: 2,
    Verdict.TIMEOUT: 2,
    Verdict.MEMORY_LIMIT: 2,
    Verdict.COMPILE_ERROR: 3,
}


class SandboxError(RuntimeError):
    """The sandbox itself failed; the program's verdict is unknown."""


@dataclass
class TestResult:
    verdict: Verdict
    error_type: str | None = None
    error_message: str | None = None
    error_line: int | None = None  # line in the candidate program, 1-based
    cpu_time_s: float | None = None
    # where the verdict was decided: "parent" (stdio/call: compared by the pool), "judge"
    # (an assert test run by the judge process), "candidate" (in the candidate's process)
    judged_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "error_line": self.error_line,
            "cpu_time_s": self.cpu_time_s,
            "judged_by": self.judged_by,
        }


@dataclass
class ExecResult:
    """Result of running one program against all the tests of one problem.

    ``executed_lines`` is the union over tests of the 1-based line numbers of the candidate
    program that ran (threads included); empty for a compile error, ``None`` when coverage
    was switched off. ``isolation`` names the protections that were in force.
    """

    verdict: Verdict
    tests: list[TestResult]
    executed_lines: frozenset[int] | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_line: int | None = None
    isolation: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "tests": [t.to_json() for t in self.tests],
            "executed_lines": None if self.executed_lines is None else sorted(self.executed_lines),
            "error_type": self.error_type,
            "error_message": self.error_message,
            "error_line": self.error_line,
            "isolation": self.isolation,
        }
