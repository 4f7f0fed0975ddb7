"""Where an assert test (HumanEval, MBPP) is judged: read with ``ast``, in the parent.

An assert test is trusted code that calls the program's functions and checks what they
return (``assert f(2) == 4``, ``assert abs(f(x) - y) < 1e-6``, ``assert set(f(x)) == ...``,
loops and helpers included). It runs in a judge process the candidate cannot reach, where
each name of a program function it uses is a stub: the call's arguments go to the candidate's
process as plain data, the function runs there, and its return value comes back as plain
data (exact built-in types), so every comparison happens on the judge's own objects.

Every free name of the test is a program function (a stub), a module the program imports,
a name of the problem's own trusted code (HumanEval's prompt helpers such as ``poly``), or a
class of the program: the test may build objects of it (MBPP's ``Pair(5, 24)``, a tree of
``Node``s), which stay in the candidate's process as handles the judge can set attributes of
and pass back. A test whose arguments turn out to be neither runs in the candidate's process
(``judged_by="candidate"``, decided when it runs).

>>> shape = ProgramShape.of("import math\\ndef f(x):\\n    return math.sqrt(x)\\n")
>>> plan("assert math.isclose(f(4), 2)", None, None, shape, "f")
('judge', ('f',), ('import math',), ())
>>> plan("assert f(Box(1)) == 1", None, None, ProgramShape.of("class Box: pass\\ndef f(b): return 1"), "f")
('judge', ('f',), (), ('Box',))

The calls a test surely makes first, in order (its leading asserts whose program calls have
literal arguments), are sent to the candidate at once, so a test of ten such asserts costs
one round trip, not ten (:func:`leading_calls`; a call that differs is made live).
"""

from __future__ import annotations

import ast
import builtins
import functools
import sys
import warnings
from dataclasses import dataclass

Plan = tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
_ALLOWED_MODULES = frozenset(sys.stdlib_module_names) | {"numpy"}
_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class ProgramShape:
    """Top-level names of a program: functions, imports (name -> statement), classes, anything else."""

    functions: frozenset[str]
    imports: dict[str, str]
    others: frozenset[str]
    classes: frozenset[str]

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def of(program: str) -> ProgramShape | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(program)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            return None  # a compile error: no test will run
        functions, others, imports, classes = set(), set(), {}, set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.add(node.name)
            elif isinstance(node, ast.ClassDef):
                classes.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    name = (alias.asname or alias.name).split(".")[0]
                    module = (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
                    if module in _ALLOWED_MODULES and not getattr(node, "level", 0) and alias.name != "*":
                        imports[name] = ast.unparse(ast.Import([alias]) if isinstance(node, ast.Import)
                                                    else ast.ImportFrom(node.module, [alias], 0))
                    else:
                        others.add(name)
            else:
                others.update(_bound(node))
        # a name bound twice (a def, then an assignment) is not a plain function
        return ProgramShape(frozenset(functions - others), imports, frozenset(others | (functions & others)), frozenset(classes))


def _bound(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.MatchAs) and node.name:
            names.add(node.name)
    return names


@functools.lru_cache(maxsize=4096)
def _names(code: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(names the code reads, names it binds anywhere), or None if it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return frozenset(loaded), frozenset(_bound(tree))


def plan(code: str, setup: str | None, context: str | None, shape: ProgramShape | None, entry: str | None) -> Plan:
    """``(judged_by, stubs, imports)`` of one assert test (see the module docstring)."""
    test, setup_names, context_names = _names(code), _names(setup or ""), _names(context or "")
    if test is None or setup_names is None or context_names is None or shape is None:
        return ("candidate", (), (), ())  # it fails where it runs, as it would have
    trusted = test[1] | setup_names[1]
    free = (test[0] | setup_names[0]) - trusted
    stubs, imports, classes = [], [], []
    for name in sorted(free):
        if name in _BUILTINS and name != entry:
            continue  # the test's `abs`, `sorted`, `set` are the real ones, whatever the program defines
        if name == entry or (name in shape.functions | shape.others and name not in context_names[1]):
            stubs.append(name)  # whatever the program bound it to, it is called over the channel
        elif name in context_names[1]:
            continue  # the problem's own code, run in the judge
        elif name in shape.imports:
            imports.append(shape.imports[name])
        elif name in shape.classes:
            classes.append(name)  # objects the test builds stay in the candidate's process
        else:
            stubs.append(name)  # not defined anywhere: the call fails in the candidate, as it would
    return ("judge", tuple(stubs), tuple(imports), tuple(classes))


MAX_PREFETCH_CALLS = 256


def _literal_call(node: ast.Call, names: dict[str, str]) -> tuple[str, list, dict] | None:
    if not (isinstance(node.func, ast.Name) and node.func.id in names):
        return None
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise _NotLiteral from None
    if None in kwargs or any(isinstance(a, ast.Starred) for a in node.args):
        raise _NotLiteral
    return names[node.func.id], args, kwargs  # type: ignore[return-value]


class _NotLiteral(Exception):
    pass


@functools.lru_cache(maxsize=4096)
def _leading_calls(code: str, stubs: tuple[str, ...]) -> tuple[tuple[str, tuple, tuple], ...]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    names = {s: s for s in stubs}
    body = tree.body
    # HumanEval: `def check(candidate): ...` then `check(entry_point)`
    checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and len(n.args.args) == 1]
    last = tree.body[-1] if tree.body else None
    if (checks and isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Name) and last.value.func.id == checks[-1].name
            and len(last.value.args) == 1 and isinstance(last.value.args[0], ast.Name) and last.value.args[0].id in names):
        names = {checks[-1].args.args[0].arg: last.value.args[0].id}
        body = checks[-1].body
    calls: list[tuple[str, tuple, tuple]] = []
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.Pass)) or (
                isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        if not isinstance(stmt, ast.Assert):
            break
        nodes = sorted((n for n in ast.walk(stmt.test) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
        try:
            found = [c for c in (_literal_call(n, names) for n in nodes) if c is not None]
        except _NotLiteral:
            break
        calls.extend((name, tuple(args), tuple(sorted(kwargs.items()))) for name, args, kwargs in found)
        if len(calls) >= MAX_PREFETCH_CALLS:
            break
    return tuple(calls[:MAX_PREFETCH_CALLS])


def leading_calls(code: str, stubs: tuple[str, ...]) -> list[tuple[str, list, dict]]:
    """``(name, args, kwargs)`` of the program calls the test makes first, in order.

    >>> leading_calls("def check(c):\\n    assert c(1) == 2\\n    assert c([3]) == [6]\\n    x = c(0)\\ncheck(f)\\n", ("f",))
    [('f', [1], {}), ('f', [[3]], {})]
    """
    return [(name, list(args), dict(kwargs)) for name, args, kwargs in _leading_calls(code, stubs)]
