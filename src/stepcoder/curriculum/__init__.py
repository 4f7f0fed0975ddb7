"""CCCS (StepCoder §3.2): AST blocks and split points, the curriculum, completion prompts."""

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
from stepcoder.curriculum.prompts import PromptConfig, build_prompt, completion_stop_index, extract_completion

__all__ = [
    "DEFAULT_SPLIT_KINDS",
    "SPLIT_KINDS",
    "Block",
    "Curriculum",
    "CurriculumConfig",
    "PromptConfig",
    "SplitPoint",
    "build_prompt",
    "completion_stop_index",
    "extract_blocks",
    "extract_completion",
    "num_stages",
    "split_points",
]
