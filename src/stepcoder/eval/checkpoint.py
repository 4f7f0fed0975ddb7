"""Which weights `stepcoder eval --model M` loads."""

from __future__ import annotations

import re
from pathlib import Path

from stepcoder.models.paths import resolve_model_path

_STEP = re.compile(r"^step-(\d+)$")


def latest_checkpoint(run_dir: Path) -> Path | None:
    """``run_dir/checkpoints/step-N`` with the largest N, or None."""
    ckpt_dir = run_dir / "checkpoints"
    steps = [(int(m.group(1)), p) for p in ckpt_dir.glob("step-*") if p.is_dir() and (m := _STEP.match(p.name))]
    return max(steps)[1] if steps else None


def resolve_eval_model(name: str) -> str:
    """A path or hub id for ``from_pretrained``.

    - a training run directory (has ``checkpoints/``): its latest checkpoint's ``policy``;
    - a checkpoint folder (has ``policy/``): its ``policy``;
    - any other folder as is; otherwise ``stepcoder.models.resolve_model_path`` ('tiny',
      'gemma-3-270m', hub ids).
    """
    path = Path(name)
    if path.is_dir():
        if (path / "checkpoints").is_dir():
            latest = latest_checkpoint(path)
            if latest is None:
                raise FileNotFoundError(f"{path}: run directory without any checkpoints/step-N folder")
            path = latest
        if (path / "policy").is_dir():
            path = path / "policy"
        return str(path)
    return resolve_model_path(name)
