"""The one problem type every loader produces and every other module consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TestKind = Literal["stdio", "call", "assert"]


@dataclass(frozen=True)
class Test:
    """One unit test of a problem.

    - ``kind="stdio"``: feed ``stdin`` to the program, compare its stdout with ``stdout``.
    - ``kind="call"``: call ``Problem.fn_name`` (a function, or a method of ``class Solution``)
      with ``args`` and compare the return value with ``expected``.
    - ``kind="assert"``: run ``code`` (Python statements, e.g. ``assert f(1) == 2`` or a
      HumanEval ``check`` definition followed by ``check(entry_point)``) after the program, in
      the program's namespace; it passes if it raises nothing.

    >>> Test(kind="stdio", stdin="1 2\\n", stdout="3\\n").kind
    'stdio'
    """

    __test__ = False  # not a pytest test class, despite the name

    kind: TestKind
    stdin: str | None = None
    stdout: str | None = None
    args: tuple[Any, ...] | None = None
    expected: Any = None
    code: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The native JSONL form of this test (see docs/data_formats.md)."""
        if self.kind == "stdio":
            return {"stdin": self.stdin, "stdout": self.stdout}
        if self.kind == "call":
            return {"args": list(self.args or ()), "expected": self.expected}
        return {"assert": self.code}


@dataclass
class Problem:
    """A programming problem: what the model sees, the reference answer and the tests.

    ``prompt`` is the task text exactly as the source gives it (for HumanEval, the function
    signature and docstring that a completion continues). ``solution`` is the canonical
    solution as a whole program, or ``None`` when the source has none.

    ``fn_name`` names the function called by call-based tests; when the starter code is a
    ``class Solution`` the method of that name on ``Solution()`` is called.
    ``stdio_entry`` is the name of a zero-argument function that the program defines and that
    must be called to run it on stdin (the APPS+ convention: ``def FsxrN():``); ``None`` for
    programs that run at top level.
    ``test_setup`` is code run after the program and before each assert-based test (MBPP's
    ``test_setup_code``).
    ``entry_point`` is HumanEval's entry point (kept for reports and the completion form).
    """

    id: str
    prompt: str
    solution: str | None
    tests: list[Test]
    difficulty: str | None = None
    starter_code: str | None = None
    fn_name: str | None = None
    stdio_entry: str | None = None
    entry_point: str | None = None
    test_setup: str | None = None
    source_format: str = "jsonl"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_call_based(self) -> bool:
        return any(t.kind == "call" for t in self.tests)

    def to_json(self) -> dict[str, Any]:
        """The native JSONL record of this problem (round-trips through the ``jsonl`` loader).

        ``meta`` entries become extra top-level keys (e.g. ``"blocks"``, ``"scope"``);
        ``source_format`` is written only when it is not ``"jsonl"``, to keep provenance.
        """
        rec: dict[str, Any] = {"id": self.id, "prompt": self.prompt, "solution": self.solution}
        for key in ("difficulty", "starter_code", "fn_name", "stdio_entry", "entry_point", "test_setup"):
            value = getattr(self, key)
            if value is not None:
                rec[key] = value
        if self.source_format != "jsonl":
            rec["source_format"] = self.source_format
        rec["tests"] = [t.to_json() for t in self.tests]
        for key, value in self.meta.items():
            rec.setdefault(key, value)  # a meta key never overrides a real field
        return rec


class ProblemFormatError(ValueError):
    """A record that cannot be read: names the file, the record number and the field."""

    def __init__(self, path: str, record: int | None, field_name: str | None, message: str):
        self.path, self.record, self.field_name = path, record, field_name
        where = str(path)
        if record is not None:
            where += f", record {record}"
        if field_name is not None:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {message}")
