"""Execution sandbox: runs untrusted candidate programs against a problem's tests.

``Sandbox(config)`` keeps warm worker processes; ``run_batch`` runs (problem, program)
pairs in parallel and returns one :class:`ExecResult` each, in input order. No torch here.
"""

from stepcoder.sandbox.config import SandboxConfig
from stepcoder.sandbox.pool import Sandbox, run_batch
from stepcoder.sandbox.result import ExecResult, SandboxError, TestResult, Verdict

__all__ = ["ExecResult", "Sandbox", "SandboxConfig", "SandboxError", "TestResult", "Verdict", "run_batch"]
