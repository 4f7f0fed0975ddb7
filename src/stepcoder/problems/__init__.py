"""Problems: the ``Problem``/``Test`` types, loaders for every supported format, and saving
to the native JSONL format."""

from stepcoder.problems.loader import FORMATS, detect_format, load_problems, save_jsonl
from stepcoder.problems.types import Problem, ProblemFormatError, Test

__all__ = ["FORMATS", "Problem", "ProblemFormatError", "Test", "detect_format", "load_problems", "save_jsonl"]
