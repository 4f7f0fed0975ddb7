"""Runs one program's tests in the worker: each test in a fresh limited process forked from
the clean template, an assert test beside its judge process, the wall clock and the
program's time budget enforced, and raw observations collected for the parent to judge.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from typing import Any

from stepcoder.sandbox import isolation, messages
from stepcoder.sandbox.config import SandboxConfig
from stepcoder.sandbox.judgeproc import Judge
from stepcoder.sandbox.messages import (CandidateJob, ChildReport, JudgeJob, JudgeReport, ProgramReply, RunRequest,
                                        TestInput, TestObservation)
from stepcoder.sandbox.template import Exit, Template, TemplateGone

_STDERR_TAIL = 2000
_MAX_REPORT = 64 << 20
_CPU_SIGNALS = (signal.SIGXCPU, signal.SIGPROF, signal.SIGKILL)


def safe_env(workdir: str) -> dict[str, str]:
    """The whole environment a test sees: nothing of its parents'."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _report_status(text: str) -> str | None:
    try:
        return messages.decode(text, ChildReport).status
    except messages.MessageError:
        return None


def _timed_out(obs: TestObservation, cfg: SandboxConfig) -> bool:
    """Out of CPU (not merely blocked: a sleeping program gains nothing from a second run)."""
    return (_report_status(obs.report) == "timeout" or obs.cpu_s >= cfg.timeout_s
            or (obs.signal in _CPU_SIGNALS and not obs.wall_timeout))


def _failed_regardless_of_answer(obs: TestObservation) -> bool:
    """A test that timed out, crashed or raised: no answer can make it pass."""
    if obs.wall_timeout or obs.signal is not None or obs.budget_exhausted:
        return True
    if obs.judged_by == "judge":
        try:
            return messages.decode(obs.judge, JudgeReport).status != "pass"
        except messages.MessageError:
            return True
    return _report_status(obs.report) not in ("ok", "exit")


class ProgramRun:
    """One program's tests in a worker (see the module docstring)."""

    def __init__(self, request: RunRequest, cfg: SandboxConfig, template: Template, judge: Judge):
        self.request, self.cfg, self.template, self.judge = request, cfg, template, judge
        self.deadline = time.monotonic() + cfg.budget.program_s(len(request.tests))

    def run(self) -> ProgramReply:
        if not self.request.tests:
            return self._compile_check()
        observations: list[TestObservation] = []
        for test in self.request.tests:
            if time.monotonic() >= self.deadline:  # the program's budget is spent
                observations.append(TestObservation(test.judged_by, budget_exhausted=True))
                continue
            obs = self._test(test, self.cfg.coverage)
            if self.cfg.coverage and self.cfg.coverage_timeout_retry and _timed_out(obs, self.cfg):
                # the line markers slow hot loops: a test out of CPU is judged again without
                # them, keeping the lines the marked run reported
                retry = self._test(test, False)
                obs = TestObservation(**{**retry.__dict__, "traced_report": obs.report})
            if _report_status(obs.report) == "compile_error":
                return ProgramReply(compile_error=obs.report)
            observations.append(obs)
            if self.cfg.fail_fast and _failed_regardless_of_answer(obs):
                break
        return ProgramReply(tests=tuple(observations))

    def _compile_check(self) -> ProgramReply:
        """A problem without tests still compiles its program, in a limited test process: a
        compile error, or a compiler that cannot finish within the limits, is a compile error."""
        obs = self._candidate(self._job("compile_check", False), "parent", None)
        status = _report_status(obs.report)
        if status == "compile_error":
            return ProgramReply(compile_error=obs.report)
        if status != "ok":
            why = ("timed out" if obs.wall_timeout or _timed_out(obs, self.cfg) else
                   f"was killed by signal {obs.signal}" if obs.signal is not None else f"exited with code {obs.exit_code}")
            report = ChildReport("compile_error", error_type="CompileCheckFailed", message=f"compiling the program {why}")
            return ProgramReply(compile_error=messages.encode(report).decode())
        return ProgramReply()

    def _job(self, kind: str, coverage: bool, test: TestInput | None = None) -> CandidateJob:
        r = self.request
        fallback = test is not None and kind == "assert"
        return CandidateJob(
            program=r.program, kind=kind, coverage=coverage, timeout_s=self.cfg.timeout_s,  # type: ignore[arg-type]
            args=test.args if test is not None and kind == "call" else None,
            code=test.code if fallback else "", test_setup=r.test_setup if fallback else None,
            fn_name=r.fn_name, stdio_entry=r.stdio_entry, prelude=r.prelude, wrap_stdio=r.wrap_stdio)

    def _test(self, test: TestInput, coverage: bool) -> TestObservation:
        if test.kind != "assert":
            return self._candidate(self._job(test.kind, coverage, test), "parent", test)
        if test.judged_by == "judge":
            obs = self._judged(test, coverage)
            if _judge_status(obs) != "unjudgeable":
                return obs
        return self._candidate(self._job("assert", coverage, test), "candidate", test)

    def _wall(self) -> float:
        return max(0.0, min(self.cfg.wall_timeout_s, self.deadline - time.monotonic()))

    def _candidate(self, job: CandidateJob, judged_by: str, test: TestInput | None) -> TestObservation:
        stdin = (test.stdin if test is not None else "").encode("utf-8", "surrogateescape")
        fds = _Fds(stdin, job)
        try:
            self.template.spawn(fds.all)
            fds.close_job()
            exit_, wall_timeout = self._wait_candidate(self._wall())
            return fds.observation(judged_by, exit_, wall_timeout, self.cfg)
        finally:
            fds.close()

    def _wait_candidate(self, wall_s: float) -> tuple[Exit, bool]:
        exit_ = self.template.wait(wall_s)
        if exit_ is not None:
            return exit_, False
        self.template.kill_test()
        exit_ = self.template.wait(10.0)
        if exit_ is None:
            raise TemplateGone("the template did not report a killed test process")
        return exit_, True

    def _judged(self, test: TestInput, coverage: bool) -> TestObservation:
        """The candidate serves calls; the judge process runs the test."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = _Fds(b"", self._job("serve", coverage), theirs.fileno())
        try:
            self.template.spawn(fds.all)
            fds.close_job()
            theirs.close()
            r = self.request
            self.judge.send(JudgeJob(test, r.trusted_context, r.test_setup), ours.fileno())
            ours.close()
            start, wall = time.monotonic(), self._wall()
            report = self.judge.result(wall)
            exit_, wall_timeout = self._wait_candidate(max(0.0, wall - (time.monotonic() - start)) + 1.0)
            obs = fds.observation("judge", exit_, wall_timeout or not report, self.cfg)
            return TestObservation(**{**obs.__dict__, "judge": report})
        finally:
            ours.close()
            theirs.close()
            fds.close()


def _judge_status(obs: TestObservation) -> str | None:
    try:
        return messages.decode(obs.judge, JudgeReport).status
    except messages.MessageError:
        return None


def _memfd(name: str, data: bytes = b"") -> int:
    fd = os.memfd_create(name, 0)
    if data:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_fd(fd: int, limit: int, tail: bool = False) -> bytes:
    size = os.fstat(fd).st_size
    start = max(0, size - limit) if tail else 0
    return os.pread(fd, min(size, limit), start)


class _Fds:
    """The descriptors of one test process: stdin, stdout, stderr, report, job (and the call
    socket), in the order they become its fds 0, 1, 2, ..."""

    def __init__(self, stdin: bytes, job: CandidateJob, call_fd: int | None = None):
        self.stdin, self.stdout, self.stderr = _memfd("stdin", stdin), _memfd("stdout"), _memfd("stderr")
        self.report, self.job = _memfd("report"), _memfd("job", messages.encode(job))
        self.all = [self.stdin, self.stdout, self.stderr, self.report, self.job] + ([call_fd] if call_fd is not None else [])
        self._own = [self.stdin, self.stdout, self.stderr, self.report, self.job]

    def close_job(self) -> None:
        """Once the test process holds the job, the worker drops it at once."""
        os.close(self.job)
        self._own.remove(self.job)

    def observation(self, judged_by: str, exit_: Exit, wall_timeout: bool, cfg: SandboxConfig) -> TestObservation:
        status = exit_.status
        stdout = _read_fd(self.stdout, cfg.max_output_bytes + 1)
        return TestObservation(
            judged_by=judged_by,  # type: ignore[arg-type]
            exit_code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            wall_timeout=wall_timeout, cpu_s=max(0.0, exit_.cpu_s),
            stdout=stdout[: cfg.max_output_bytes].decode("utf-8", "replace"),
            stdout_overflow=len(stdout) > cfg.max_output_bytes,
            stderr_tail=_read_fd(self.stderr, _STDERR_TAIL, tail=True).decode("utf-8", "replace"),
            report=_read_fd(self.report, _MAX_REPORT).decode("utf-8", "replace"),
        )

    def close(self) -> None:
        for fd in self._own:
            os.close(fd)
        self._own = []


def run_program(request: RunRequest, cfg: SandboxConfig, template: Template, judge: Judge) -> ProgramReply:
    try:
        return ProgramRun(request, cfg, template, judge).run()
    except TemplateGone as exc:
        # only a program running as our own uid can stop the template: its verdict, and a
        # fresh worker (a template forked from this worker would hold this program's tests)
        return ProgramReply(killed=f"template: {exc}"[:200], restart=True)
