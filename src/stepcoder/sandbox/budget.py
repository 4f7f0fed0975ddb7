"""One time budget: every limit of the sandbox derives from the per-test CPU limit.

A test may use ``cpu_s`` of CPU and ``test_wall_s`` of wall time; with coverage on, a test
that ran out of CPU is run once more without line markers, so a test slot is at most two
walls plus a fixed allowance for fork, compile and cleanup. A program's budget is its tests'
slots; the worker gives up on a program (the rest of its tests are TIMEOUT) when that is
spent, and the pool waits a fixed margin more before it declares the worker stuck. So each
deadline is strictly inside the next, and a program that blocks is a TIMEOUT verdict, never
a ``SandboxError`` (the old pool deadline, n * (wall + 1) + 30 s, was shorter than the
retry's worst case, 2 * n * wall).

>>> b = TimeBudget(cpu_s=1.0, wall_factor=3.0, retry=True)
>>> b.test_wall_s, b.test_slot_s, b.program_s(3), b.pool_deadline_s(3)
(3.0, 7.0, 21.0, 36.0)
"""

from __future__ import annotations

from dataclasses import dataclass

# fork, compile and clean-up of one test process, and of the judge beside it
TEST_OVERHEAD_S = 0.5
# the worker's own work for a program (work directory, reply) beyond its tests
WORKER_MARGIN_S = 5.0
# what the pool adds before it declares a worker stuck (pickling, a loaded machine)
POOL_MARGIN_S = 10.0


@dataclass(frozen=True)
class TimeBudget:
    cpu_s: float
    wall_factor: float
    retry: bool  # coverage on and coverage_timeout_retry

    @property
    def test_wall_s(self) -> float:
        """Wall-clock guard of one test process (catches sleeping or blocked programs)."""
        return self.cpu_s * self.wall_factor

    @property
    def cpu_backstop_s(self) -> int:
        """RLIMIT_CPU: the kernel's kill if the exact timer is ignored."""
        return int(self.cpu_s) + 2

    @property
    def test_slot_s(self) -> float:
        """The most one test may take, its coverage retry included."""
        return (2 if self.retry else 1) * (self.test_wall_s + TEST_OVERHEAD_S)

    def program_s(self, n_tests: int) -> float:
        """The most one program may take in a worker; after that its tests are TIMEOUT."""
        return max(n_tests, 1) * self.test_slot_s

    def worker_deadline_s(self, n_tests: int) -> float:
        return self.program_s(n_tests) + WORKER_MARGIN_S

    def pool_deadline_s(self, n_tests: int) -> float:
        """How long the pool waits for a worker's reply before it restarts the worker."""
        return self.worker_deadline_s(n_tests) + POOL_MARGIN_S
