"""Named, timed phases of a training step, logged under ``time/<phase>``."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class PhaseTimer:
    """Accumulates wall-clock seconds per phase name.

    >>> timer = PhaseTimer()
    >>> with timer("generate"):
    ...     pass
    >>> sorted(timer.metrics())
    ['time/generate']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def metrics(self) -> dict[str, float]:
        return {f"time/{name}": round(sec, 4) for name, sec in self.seconds.items()}
