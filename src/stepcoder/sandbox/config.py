"""Limits and switches of the execution sandbox."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from stepcoder.sandbox.budget import TimeBudget


# The names the APPS harness (hendrycks/apps, eval/testing_util.py) puts before every program;
# APPS(+) solutions rely on them (LeetCode-style `List[int]` annotations, bare `heapq`,
# `defaultdict`). Dict/Set/Optional added for the same LeetCode-style annotations.
# Only programs of the APPS formats get it: HumanEval's and MBPP's harnesses run the program
# as it is, so there `math` used without `import math` is a NameError.
PRELUDE_FORMATS = ("apps", "apps-plus")
PRELUDE_NAME = "apps"
APPS_PRELUDE = """\
import sys
import time
import itertools
from itertools import accumulate, product, permutations, combinations
import collections
from collections import Counter, OrderedDict, deque, defaultdict, ChainMap
from functools import lru_cache
import math
from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2
import fractions
from typing import List, Tuple, Dict, Set, Optional
import numpy as np
import random
import heapq
from heapq import *
"""


@dataclass
class SandboxConfig:
    """How candidate programs are run: limits per test, the worker pool, coverage, comparison.

    >>> SandboxConfig(timeout_s=2.0).wall_timeout_s
    6.0
    """

    timeout_s: float = field(
        default=4.0,
        metadata={"help": "CPU seconds each test may use: the one time setting; the wall guard per test, the coverage retry, the per-program budget and the pool's deadline all derive from it (see TimeBudget)."},
    )
    wall_factor: float = field(
        default=3.0,
        metadata={"help": "Wall-clock guard per test = timeout_s * wall_factor (catches sleeping or blocked programs)."},
    )
    memory_mb: int = field(
        default=2048,
        metadata={"help": "Address-space limit (RLIMIT_AS) of each test process, in MiB."},
    )
    max_output_bytes: int = field(
        default=1 << 20,
        metadata={"help": "Bytes of stdout a test may write (RLIMIT_FSIZE); more is RUNTIME_ERROR."},
    )
    max_processes: int = field(
        default=16,
        metadata={"help": "Processes/threads a test may start (RLIMIT_NPROC; binds only for an unprivileged uid)."},
    )
    workers: int = field(
        default=0,
        metadata={"help": "Warm worker processes; 0 = os.cpu_count()."},
    )
    coverage: bool = field(
        default=True,
        metadata={"help": "Record executed lines of the program (FGO needs them); off is faster."},
    )
    coverage_timeout_retry: bool = field(
        default=True,
        metadata={"help": "With coverage on, run a test that timed out again without the (slow) line tracer, so that verdicts do not depend on coverage."},
    )
    float_rel_tol: float = field(
        default=1e-6,
        metadata={"help": "Relative tolerance when two numbers are compared (stdout tokens and return values)."},
    )
    float_abs_tol: float = field(
        default=1e-6,
        metadata={"help": "Absolute tolerance when two numbers are compared (stdout tokens and return values)."},
    )
    isolation: str = field(
        default="auto",
        metadata={"help": "'auto': every kernel protection available (namespaces, uid drop as root); 'none': rlimits and process groups only."},
    )
    fail_fast: bool = field(
        default=False,
        metadata={"help": "Stop a program at its first test that times out, crashes or raises (later tests get no result): saves the time limit of each further test."},
    )
    prelude: str = field(
        default=APPS_PRELUDE,
        metadata={"help": "Python run (once per worker) into the namespace of each program of an APPS format (apps, apps-plus) before the program; not part of its lines."},
    )
    preload: tuple[str, ...] = field(
        default=("numpy",),
        metadata={"help": "Modules each warm worker imports once, so that programs importing them start fast."},
    )

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.wall_factor < 1:
            raise ValueError(f"wall_factor must be >= 1 (the wall guard sits on top of the CPU limit), got {self.wall_factor}")
        if self.memory_mb < 64:
            raise ValueError(f"memory_mb must be >= 64 (the interpreter itself needs that much), got {self.memory_mb}")
        if self.isolation not in ("auto", "none"):
            raise ValueError(f"isolation must be 'auto' or 'none', got {self.isolation!r}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")

    def lean_for(self, items) -> SandboxConfig:
        """This config for a batch known in advance (``(problem, program)`` pairs: ``check``,
        ``score``): without the APPS prelude when no problem is of an APPS format, and without
        the preloads that no program names. Starting a worker then costs about 0.3 s less
        (numpy); what a program can import is unchanged."""
        import dataclasses
        import re

        apps = any(problem.source_format in PRELUDE_FORMATS for problem, _ in items)
        named = [m for m in self.preload
                 if (apps and m in self.prelude) or any(re.search(rf"\b{re.escape(m)}\b", program) for _, program in items)]
        return dataclasses.replace(self, prelude=self.prelude if apps else "", preload=tuple(named))

    @property
    def budget(self) -> TimeBudget:
        """Every time limit of the sandbox, derived from ``timeout_s``."""
        return TimeBudget(self.timeout_s, self.wall_factor, self.coverage and self.coverage_timeout_retry)

    @property
    def wall_timeout_s(self) -> float:
        return self.budget.test_wall_s

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1
