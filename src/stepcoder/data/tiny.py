"""The bundled tiny dataset: short, parameterised problems a few-million-parameter model can
learn on a laptop CPU (first by SFT, then by PPO with CCCS and FGO).

``generate_tiny_problems(seed)`` is deterministic; its output is committed as
``tiny/train.jsonl`` and ``tiny/heldout.jsonl``. Regenerate them with
``python -m stepcoder.data.tiny``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from stepcoder.data.tiny_families import FAMILIES, Family
from stepcoder.problems.types import Problem, Test

TRAIN_PER_FAMILY = 16  # 25 train families x 16 = 400 train problems
HELDOUT_PER_FAMILY = 3  # unseen constants of every train family: 75 problems
HELDOUT_ONLY_COUNT = 9  # 3 held-out-only families x 9 = 27 problems


def generate_tiny_problems(seed: int = 0) -> tuple[list[Problem], list[Problem]]:
    """``(train, heldout)``. Held-out problems are the same families with constants no train
    problem uses, plus three families (``count_below``, ``between``, ``swap_char``) that
    appear only in held-out, to measure generalisation beyond copying constants."""
    train: list[Problem] = []
    heldout: list[Problem] = []
    for index, family in enumerate(FAMILIES):
        rng = random.Random(f"{seed}/{family.name}")  # per family: adding one leaves others unchanged
        if family.heldout_only:
            heldout += [_instance(family, p, rng, n) for n, p in enumerate(_distinct_params(family, rng, HELDOUT_ONLY_COUNT))]
            continue
        params = _distinct_params(family, rng, TRAIN_PER_FAMILY + HELDOUT_PER_FAMILY)
        problems = [_instance(family, p, rng, n) for n, p in enumerate(params)]
        train += problems[:TRAIN_PER_FAMILY]
        heldout += problems[TRAIN_PER_FAMILY:]
    return train, heldout


def _distinct_params(family: Family, rng: random.Random, count: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for _ in range(1000 * count):
        p = family.params(rng)
        if p not in seen:
            seen.append(p)
        if len(seen) == count:
            return seen
    raise ValueError(f"family {family.name!r} has fewer than {count} distinct constant sets")


def _instance(family: Family, params: dict[str, Any], rng: random.Random, n: int) -> Problem:
    cases = family.cases(rng, params)
    problem = Problem(
        id=f"tiny/{family.name}/{n}",
        prompt=family.prompt.format(**params),
        solution=family.solution.format(**params),
        tests=[_test(family, params, case) for case in cases],
        difficulty=family.difficulty,
        fn_name=family.fn_name,
        meta={"family": family.name},
    )
    return problem


def _test(family: Family, params: dict[str, Any], case: Any) -> Test:
    if family.kind == "call":
        return Test(kind="call", args=tuple(case), expected=family.answer(params, *case))
    answer = family.answer(params, case)
    lines = answer if isinstance(answer, list) else [answer]
    stdin = " ".join(map(str, case)) if isinstance(case, list) else str(case)
    return Test(kind="stdio", stdin=stdin + "\n", stdout="".join(f"{line}\n" for line in lines))


def write_tiny_dataset(out_dir: Path, seed: int = 0) -> tuple[Path, Path]:
    from stepcoder.problems.loader import save_jsonl

    train, heldout = generate_tiny_problems(seed)
    return save_jsonl(train, out_dir / "train.jsonl"), save_jsonl(heldout, out_dir / "heldout.jsonl")


if __name__ == "__main__":
    for path in write_tiny_dataset(Path(__file__).resolve().parent / "tiny"):
        print(path)
