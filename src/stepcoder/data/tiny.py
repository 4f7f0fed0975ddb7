"""The bundled tiny dataset: short, parameterised problems a few-million-parameter model can
learn on a laptop CPU (first by SFT, then by PPO with CCCS and FGO).

``generate_tiny_problems(seed)`` is deterministic; its output is committed as
``tiny/{sft,train,heldout,ood}.jsonl``. Regenerate them with
``python -m stepcoder.data.tiny``.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

from stepcoder.data import TINY_SPLITS
from stepcoder.data.tiny_families import FAMILIES, Family
from stepcoder.problems.types import Problem, Test

SFT_PER_FAMILY = 30  # 32 families x 30 = 960 demonstrations (canonical solutions) for SFT
TRAIN_PER_FAMILY = 30  # 32 x 30 = 960 RL problems: instances SFT never saw
HELDOUT_PER_FAMILY = 36  # 32 x 36 = 1,152 held-out problems: new instances of the same families
OOD_PER_FAMILY = 12  # 3 out-of-family families x 12 = 36 problems, reported on their own line
NOISY_SHARE = 0.5  # of a family's demonstrations, the share that hold its plausible wrong program


def generate_tiny_problems(seed: int = 0) -> tuple[list[Problem], list[Problem], list[Problem], list[Problem]]:
    """``(sft, train, heldout, ood)``, in the order of ``TINY_SPLITS``.

    ``sft``, ``train`` and ``heldout`` are disjoint draws from the same families (i.i.d.
    instances: no two splits share a prompt). SFT learns from ``sft``'s solutions and RL runs
    on ``train``, whose instances the SFT model never saw: on its own demonstrations an SFT
    model is nearly perfect (it memorises them), so RL there sees almost no failure; on new
    instances it fails the way it fails on held-out problems, which is what RL can fix. Half
    of a family's demonstrations hold its plausible bug (``_noisy``): SFT learns the mixture,
    the tests tell the two apart. ``ood`` holds three families no train problem comes from, measured separately."""
    sft: list[Problem] = []
    train: list[Problem] = []
    heldout: list[Problem] = []
    ood: list[Problem] = []
    for family in FAMILIES:
        rng = random.Random(f"{seed}/{family.name}")  # per family: adding one leaves others unchanged
        if family.out_of_family:
            ood += [_instance(family, p, rng, n) for n, p in enumerate(_distinct_params(family, rng, OOD_PER_FAMILY))]
            continue
        params = _distinct_params(family, rng, SFT_PER_FAMILY + HELDOUT_PER_FAMILY)
        rng.shuffle(params)  # both splits span the family's whole constant range
        problems = [_instance(family, p, rng, n) for n, p in enumerate(params)]
        sft += _noisy(family, problems[:SFT_PER_FAMILY], params, seed)
        heldout += problems[SFT_PER_FAMILY:]
        # drawn after the other two, so that adding the RL split left them as they were
        rl_params = _distinct_params(family, rng, TRAIN_PER_FAMILY, exclude=params)
        train += [_instance(family, p, rng, len(params) + n) for n, p in enumerate(rl_params)]
    return sft, train, heldout, ood


def _noisy(family: Family, demonstrations: list[Problem], params: list[dict[str, Any]], seed: int) -> list[Problem]:
    """Half of a family's demonstrations (``NOISY_SHARE``) hold its plausible wrong program
    (``tiny_families.BUGS``) in place of the correct one, marked ``meta["demonstration"] =
    "wrong"``; their tests stay those of the task, which the wrong program fails. A separate
    stream picks them, so every split's instances stay as drawn."""
    if family.bug is None:
        return demonstrations
    rng = random.Random(f"{seed}/{family.name}/demonstrations")
    wrong = set(rng.sample(range(len(demonstrations)), round(NOISY_SHARE * len(demonstrations))))
    return [dataclasses.replace(p, solution=family.wrong_solution(params[i]), meta={**p.meta, "demonstration": "wrong"})
            if i in wrong else p for i, p in enumerate(demonstrations)]


def _distinct_params(family: Family, rng: random.Random, count: int,
                     exclude: list[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for _ in range(1000 * count):
        p = family.params(rng)
        if p not in seen and p not in exclude:
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


def write_tiny_dataset(out_dir: Path, seed: int = 0) -> tuple[Path, ...]:
    from stepcoder.problems.loader import save_jsonl

    return tuple(save_jsonl(problems, out_dir / f"{split}.jsonl")
                 for split, problems in zip(TINY_SPLITS, generate_tiny_problems(seed), strict=True))


if __name__ == "__main__":
    for path in write_tiny_dataset(Path(__file__).resolve().parent / "tiny"):
        print(path)
