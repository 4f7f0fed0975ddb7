"""Per-step metrics to ``metrics.jsonl`` (+ TensorBoard, + wandb), sampled programs to
``samples.jsonl``, in the run directory layout shared with ``stepcoder report``.

Every line is flushed as soon as it is written, so a killed run loses nothing it logged.
Resuming from the checkpoint of step S (``resume_step=S``) first drops the lines of steps
after S, which the killed run logged but which will be logged again: the resumed run's files
then equal those of an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"
SAMPLES_FILE = "samples.jsonl"
TB_DIR = "tb"
WANDB_ID_FILE = "wandb_run_id.txt"


def _plain_number(key: str, value: Any) -> Any:
    """A JSON-safe scalar: tensors/numpy scalars become Python numbers, inf/NaN become null."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if hasattr(value, "item"):  # torch tensor or numpy scalar with one element
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            raise TypeError(f"metric {key!r} must be a scalar, got shape {tuple(value.shape)}") from None
        if isinstance(value, bool):
            return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    raise TypeError(f"metric {key!r} must be a scalar (number, bool, str or None), got {type(value).__name__}")


def _truncate_after(path: Path, step: int) -> None:
    """Keep the lines of ``path`` whose step is <= ``step``; a torn last line is dropped."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # half a line written when the run was killed
            continue
        if record.get("step", -1) <= step:
            kept.append(line + "\n")
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as tmp:
        tmp.writelines(kept)
    os.replace(tmp.name, path)


WANDB_HINT = "pip install 'stepcoder[wandb]'"


def check_wandb(project: str | None) -> None:
    """Fail early, before any file is written, when a wandb project is asked for without wandb."""
    if not project:
        return
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise ImportError(f"training.wandb_project {project!r} needs wandb, which is not installed: {WANDB_HINT}, "
                          "or drop the project to log only to metrics.jsonl and TensorBoard") from None


class MetricsLogger:
    """Writes ``run_dir/metrics.jsonl``, ``run_dir/samples.jsonl``, ``run_dir/tb/`` and,
    when ``wandb_project`` is given, a wandb run (resumed with the same id on resume)."""

    def __init__(
        self,
        run_dir: str | os.PathLike,
        tensorboard: bool = True,
        wandb_project: str | None = None,
        resume_step: int | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        check_wandb(wandb_project)  # before any file exists: a failed start leaves nothing behind
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume_step is not None:
            _truncate_after(self.run_dir / METRICS_FILE, resume_step)
            _truncate_after(self.run_dir / SAMPLES_FILE, resume_step)
        self._metrics = open(self.run_dir / METRICS_FILE, "a", encoding="utf-8")
        self._samples = open(self.run_dir / SAMPLES_FILE, "a", encoding="utf-8")
        self._tb = self._open_tensorboard(resume_step) if tensorboard else None
        self._wandb = self._open_wandb(wandb_project, resume_step) if wandb_project else None

    def _open_tensorboard(self, resume_step: int | None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise RuntimeError("TensorBoard logging needs `pip install tensorboard` (or pass tensorboard=False)") from exc
        # purge_step hides the events of steps the killed run logged after its checkpoint.
        purge = None if resume_step is None else resume_step + 1
        return SummaryWriter(log_dir=str(self.run_dir / TB_DIR), purge_step=purge)

    def _open_wandb(self, project: str, resume_step: int | None):
        import wandb

        id_file = self.run_dir / WANDB_ID_FILE
        run_id = id_file.read_text().strip() if resume_step is not None and id_file.exists() else None
        run = wandb.init(project=project, dir=str(self.run_dir), id=run_id, resume="allow" if run_id else None)
        id_file.write_text(run.id)
        return run

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        """Append ``{"step": step, **metrics}`` (flat keys) and send numbers to TB/wandb."""
        record = {"step": int(step), **{k: _plain_number(k, v) for k, v in metrics.items() if k != "step"}}
        self._metrics.write(json.dumps(record, allow_nan=False) + "\n")
        self._metrics.flush()
        numeric = {k: v for k, v in record.items() if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool)}
        if self._tb is not None:
            for key, value in numeric.items():
                self._tb.add_scalar(key, value, global_step=step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(numeric, step=step)

    def log_samples(self, step: int, samples: list[dict[str, Any]]) -> None:
        """Append one line ``{"step": step, **sample}`` per sample."""
        for sample in samples:
            record = {"step": int(step), **{k: v for k, v in sample.items() if k != "step"}}
            self._samples.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._samples.flush()

    def close(self) -> None:
        self._metrics.close()
        self._samples.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
