"""Seeds that depend only on (base seed, step, rank, purpose), never on history.

A resumed run therefore samples exactly what the uninterrupted run sampled at the same step:
nothing carries over from the random streams of earlier steps.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np
import torch

PURPOSES = ("problems", "sample", "shuffle", "init")


def derived_seed(seed: int, step: int, purpose: str, rank: int = 0) -> int:
    """A 31-bit seed from its coordinates (sha256, so neighbouring steps are unrelated).

    >>> derived_seed(0, 3, "sample") == derived_seed(0, 3, "sample")
    True
    >>> derived_seed(0, 3, "sample") != derived_seed(0, 4, "sample")
    True
    """
    key = f"{seed}/{step}/{purpose}/{rank}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU) with one value."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def torch_generator(seed: int) -> torch.Generator:
    """A private CPU generator, so shuffling does not disturb the global stream."""
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen
