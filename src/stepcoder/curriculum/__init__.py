"""CCCS (StepCoder §3.2): AST blocks and split points, and the curriculum (the prompts that
place its prefixes live in ``stepcoder.prompts``)."""

from __future__ import annotations

from stepcoder.curriculum.blocks import (
    DEFAULT_SPLIT_KINDS,
    SPLIT_KINDS,
    Block,
    SplitPoint,
    extract_blocks,
    split_points,
)
from stepcoder.curriculum.cccs import Curriculum, CurriculumConfig, num_stages

__all__ = [
    "DEFAULT_SPLIT_KINDS",
    "SPLIT_KINDS",
    "Block",
    "Curriculum",
    "CurriculumConfig",
    "SplitPoint",
    "extract_blocks",
    "num_stages",
    "split_points",
]
