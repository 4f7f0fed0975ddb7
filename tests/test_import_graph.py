"""The house's import rules, read statically from the source (every ``import`` statement,
function-local ones included; nothing is imported): which room may import which
(docs/ARCHITECTURE.md), no cycle between rooms or between modules, rl/ and masking/ free of
the sandbox, and no torch in what the sandbox loads.

A room is a top-level package or module of ``stepcoder``. A new room, or a new edge between
rooms, is a change to the architecture: add it to ``MAY_IMPORT`` and to the table in
docs/ARCHITECTURE.md together.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "stepcoder"

# room -> the rooms it may import (docs/ARCHITECTURE.md, "What each room may import").
# ``stepcoder`` is the package's own __init__ (the version string).
MAY_IMPORT: dict[str, set[str]] = {
    "problems": set(),
    "sandbox": {"problems"},
    "curriculum": {"problems"},
    "prompts": {"problems"},
    "masking": set(),
    "rl": set(),
    "models": set(),
    "rollout": {"models"},
    "report": set(),
    "data": {"problems", "curriculum", "sandbox"},
    "eval": {"problems", "sandbox", "prompts", "models", "rollout", "report"},
    "plumbing": set(),
    "trainer": {"config", "problems", "sandbox", "curriculum", "prompts", "masking", "rl", "models", "rollout",
                "data", "eval", "report", "plumbing", "output_dir"},
    "commands": {"config", "problems", "sandbox", "curriculum", "prompts", "masking", "rl", "models", "rollout",
                 "data", "eval", "report", "plumbing", "trainer", "output_dir"},
    "config": set(),
    "output_dir": set(),
    "cli": {"stepcoder", "commands", "config"},
    "__main__": {"cli"},
    "stepcoder": set(),
}

HEAVY = {"torch", "transformers", "peft", "accelerate"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The module of ours that ``name`` (a module or a name inside one) loads, if any."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, source: str | None = None) -> tuple[set[str], set[str]]:
    """(our modules, third-party top-level packages) that ``module`` imports anywhere in its
    source; a string constant naming one of our modules counts too (the lazy exports of
    rl/ and models/ load modules by name)."""
    source = MODULES[module].read_text(encoding="utf-8") if source is None else source
    package = module if MODULES.get(module, Path()).name == "__init__.py" else module.rpartition(".")[0]
    ours, third = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # ``from pkg import sub`` loads the submodule; ``from pkg import name``, pkg itself
            names = [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value:
            names = [node.value] if node.value in MODULES else []
        else:
            continue
        for name in names:
            if name.split(".")[0] != "stepcoder":
                third.add(name.split(".")[0])
            elif (target := _resolve(name)) is not None and target != module:
                ours.add(target)
    return ours, third


GRAPH = {m: _imports(m)[0] for m in MODULES}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "stepcoder"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _room_edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for module, targets in GRAPH.items():
        for target in targets:
            if _room(module) != _room(target):
                edges.setdefault((_room(module), _room(target)), []).append(f"{module} -> {target}")
    return edges


def test_every_room_is_in_the_table():
    rooms = {_room(m) for m in MODULES}
    assert rooms <= set(MAY_IMPORT), (
        f"new rooms {sorted(rooms - set(MAY_IMPORT))}: add them to MAY_IMPORT here and to docs/ARCHITECTURE.md")


def test_rooms_import_only_what_the_table_allows():
    wrong = {edge: where for edge, where in _room_edges().items() if edge[1] not in MAY_IMPORT.get(edge[0], set())}
    assert not wrong, "imports between rooms that docs/ARCHITECTURE.md does not allow:\n" + "\n".join(
        f"  {a} -> {b}: {', '.join(sorted(where))}" for (a, b), where in sorted(wrong.items()))


def test_no_cycle_between_rooms():
    rooms: dict[str, set[str]] = {}
    for a, b in _room_edges():
        rooms.setdefault(a, set()).add(b)
    assert _cycle(rooms) is None, f"rooms import each other: {' -> '.join(_cycle(rooms))}"
    assert _cycle(MAY_IMPORT) is None, "the table itself allows a cycle"


def test_no_cycle_between_modules():
    found = _cycle(GRAPH)
    assert found is None, f"modules import each other: {' -> '.join(found)}"


def test_rl_and_masking_import_nothing_from_the_sandbox():
    # rewards take a verdict by name; FGO takes executed lines and a verdict name
    for module, targets in GRAPH.items():
        if _room(module) in ("rl", "masking"):
            assert not {t for t in targets if _room(t) == "sandbox"}, f"{module} imports the sandbox"


def test_the_sandbox_loads_no_torch():
    # everything importing any sandbox module executes: its packages' __init__ files and
    # what they import, transitively
    seen: set[str] = set()
    todo = [m for m in MODULES if _room(m) == "sandbox"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
        todo += [p for p in parents if p in MODULES] + sorted(GRAPH[module])
    heavy = {m: sorted(_imports(m)[1] & HEAVY) for m in sorted(seen) if _imports(m)[1] & HEAVY}
    assert not heavy, f"the sandbox's imports reach {heavy}"


def test_the_checker_sees_every_kind_of_import():
    source = (
        "import torch\n"
        "from stepcoder.report import plots\n"  # a submodule through its package
        "from stepcoder.problems import Problem\n"  # a name from a package's __init__
        "from .fgo import line_states\n"  # relative
        "def f():\n    from stepcoder.rl.core import kl_k3\n"  # function-local
        "LAZY = {'x': 'stepcoder.models.forward'}\n"  # loaded by name
    )
    ours, third = _imports("stepcoder.masking.example", source)
    assert ours == {"stepcoder.report.plots", "stepcoder.problems", "stepcoder.masking.fgo", "stepcoder.rl.core",
                    "stepcoder.models.forward"}
    assert third == {"torch"}
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
