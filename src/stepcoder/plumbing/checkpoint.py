"""Atomic training checkpoints: ``run_dir/checkpoints/step-000010/``.

Layout of one checkpoint::

    models.json           how each model was saved: state | hf | peft | custom | module
    models/<name>/        checkpoint_state.safetensors for a model that says what it needs
                          (``checkpoint_state()`` / ``load_checkpoint_state()``, e.g. the
                          critic: value head + LoRA adapter, not its frozen base), or
                          save_pretrained() output (HF model, peft adapter: usable for eval),
                          or model.safetensors (a plain nn.Module); a "custom" container (its
                          own save_pretrained) also gets resume_state.safetensors: its
                          trainable parameters and buffers
    optimizers/<name>.pt  optimizer.state_dict()
    schedulers/<name>.pt  scheduler.state_dict()
    rng.pt                python, numpy, torch CPU (and CUDA) RNG states
    state.json            the trainer's JSON state (step, curriculum, counters)

Everything is written into a hidden temporary directory beside the final one, fsynced, then
renamed: a crash mid-write leaves no ``step-*`` directory and the older checkpoints intact
(the rename is the commit). One process writes checkpoints (rank 0); models must be
unwrapped (``accelerator.unwrap_model``) before they are passed in.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch

_STEP_DIR = re.compile(r"^step-(\d{6,})$")
_TMP_PREFIX = ".tmp-"
RESUME_STATE = "resume_state.safetensors"
CHECKPOINT_STATE = "checkpoint_state.safetensors"


def checkpoint_dir(run_dir: str | os.PathLike, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:06d}"


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory under ``root`` (then ``root`` itself) to disk."""
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rng_state() -> dict[str, Any]:
    # python/numpy states as plain lists so that torch.load(weights_only=True) accepts them.
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _model_kind(model: Any) -> str:
    """How a model is saved and restored in place (recorded in ``models.json``)."""
    if hasattr(model, "checkpoint_state") and hasattr(model, "load_checkpoint_state"):
        return "state"  # the model knows what is trainable (e.g. a LoRA critic: not its base)
    if hasattr(model, "peft_config"):
        return "peft"  # save_pretrained writes the adapter only; the base is frozen
    if hasattr(model, "save_pretrained"):
        is_hf = any(cls.__name__ == "PreTrainedModel" for cls in type(model).__mro__)
        return "hf" if is_hf else "custom"
    return "module"


def _trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    # named_parameters() lists a tied tensor once, so safetensors sees no shared storage.
    state = {k: p.detach().contiguous() for k, p in model.named_parameters() if p.requires_grad}
    state.update({k: b.detach().contiguous() for k, b in model.named_buffers()})
    return state


def _save_model(model: Any, out: Path, kind: str) -> None:
    from safetensors.torch import save_file, save_model

    if kind not in ("module", "state"):
        model.save_pretrained(out)
    out.mkdir(parents=True, exist_ok=True)
    if kind == "state":
        save_file(model.checkpoint_state(), str(out / CHECKPOINT_STATE))
    if kind == "module":
        save_model(model, str(out / "model.safetensors"))  # handles tied (shared) tensors
    elif kind == "custom":
        # a container with its own save format (e.g. a critic = backbone + value head): keep
        # what training changes, so that resume can restore it in place whatever the format.
        save_file(_trainable_state(model), str(out / RESUME_STATE))


def _load_model(model: Any, src: Path, kind: str) -> None:
    from safetensors.torch import load_file, load_model

    if kind == "state":
        model.load_checkpoint_state(load_file(str(src / CHECKPOINT_STATE)))
    elif kind == "peft":
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, load_file(str(src / "adapter_model.safetensors")))
    elif kind == "module":
        load_model(model, str(src / "model.safetensors"))
    elif kind == "custom":
        _load_trainable_state(model, load_file(str(src / RESUME_STATE)), src)
    else:
        _load_hf_state(model, src)


def _load_trainable_state(model: torch.nn.Module, state: dict[str, torch.Tensor], src: Path) -> None:
    expected = _trainable_state(model)
    if set(state) != set(expected):
        raise RuntimeError(
            f"checkpoint {src} does not match the model: missing {sorted(set(expected) - set(state))}, "
            f"unexpected {sorted(set(state) - set(expected))}"
        )
    targets = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    with torch.no_grad():
        for name, tensor in state.items():
            targets[name].copy_(tensor)


def _load_hf_state(model: Any, src: Path) -> None:
    from safetensors.torch import load_file

    state: dict[str, torch.Tensor] = {}
    for shard in sorted(src.glob("*.safetensors")):
        state.update(load_file(str(shard)))
    missing, unexpected = model.load_state_dict(state, strict=False)
    # save_pretrained drops tied weights (lm_head = embeddings); anything else missing is an error.
    current = model.state_dict()
    loaded_ptrs = {t.data_ptr() for k, t in current.items() if k in state}
    untied = [k for k in missing if current[k].data_ptr() not in loaded_ptrs]
    if untied or unexpected:
        raise RuntimeError(f"checkpoint {src} does not match the model: missing {untied}, unexpected {unexpected}")


def _write(tmp: Path, models: dict, optimizers: dict, schedulers: dict, state: dict) -> None:
    # state.json first: a state that is not JSON fails before any large file is written.
    (tmp / "state.json").write_text(json.dumps(state, indent=2, allow_nan=False))
    kinds = {name: _model_kind(model) for name, model in models.items()}
    (tmp / "models.json").write_text(json.dumps(kinds, indent=2))
    for name, model in models.items():
        _save_model(model, tmp / "models" / name, kinds[name])
    for folder, objects in (("optimizers", optimizers), ("schedulers", schedulers)):
        (tmp / folder).mkdir(exist_ok=True)
        for name, obj in objects.items():
            torch.save(obj.state_dict(), tmp / folder / f"{name}.pt")
    torch.save(_rng_state(), tmp / "rng.pt")


def save_checkpoint(
    run_dir: str | os.PathLike,
    step: int,
    *,
    models: dict[str, Any],
    optimizers: dict[str, Any] | None = None,
    schedulers: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    keep_last: int = 3,
) -> Path:
    """Write the checkpoint of ``step`` atomically and prune all but the ``keep_last``
    newest (``keep_last <= 0`` keeps all). Returns the checkpoint directory."""
    parent = Path(run_dir) / "checkpoints"
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f"{_TMP_PREFIX}*"):  # left by a killed writer
        shutil.rmtree(stale, ignore_errors=True)
    final = checkpoint_dir(run_dir, step)
    tmp = _new_dir(parent, final.name)
    try:
        _write(tmp, models, optimizers or {}, schedulers or {}, {"step": step, **(state or {})})
        _fsync_tree(tmp)
        if final.exists():  # re-saving a step (e.g. after a resume): move the old one aside first
            old = _new_dir(parent, "old")
            os.rename(final, old / final.name)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(parent, keep_last)
    return final


def _new_dir(parent: Path, name: str) -> Path:
    """A fresh folder ``parent/.tmp-<name>-<unique>``, made with the user's umask (mkdtemp
    would make it 0700, and the rename would carry that to the checkpoint)."""
    path = parent / f"{_TMP_PREFIX}{name}-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    return path


def _step_dirs(parent: Path) -> list[tuple[int, Path]]:
    if not parent.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in parent.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir()]
    return sorted(found)


def _prune(parent: Path, keep_last: int) -> None:
    if keep_last <= 0:
        return
    for _, path in _step_dirs(parent)[:-keep_last]:
        shutil.rmtree(path, ignore_errors=True)


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint of the run, or None."""
    complete = [p for _, p in _step_dirs(Path(run_dir) / "checkpoints") if (p / "state.json").is_file()]
    return complete[-1] if complete else None


def load_checkpoint(
    path: str | os.PathLike,
    *,
    models: dict[str, Any],
    optimizers: dict[str, Any] | None = None,
    schedulers: dict[str, Any] | None = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Load weights, optimizer and scheduler states in place, restore the RNG states, and
    return the JSON state (it includes ``"step"``)."""
    path = Path(path)
    kinds = json.loads((path / "models.json").read_text())
    for name, model in models.items():
        if name not in kinds:
            raise KeyError(f"checkpoint {path} has no model {name!r}; it holds {sorted(kinds)}")
        _load_model(model, path / "models" / name, kinds[name])
    for folder, objects in (("optimizers", optimizers or {}), ("schedulers", schedulers or {})):
        for name, obj in objects.items():
            obj.load_state_dict(torch.load(path / folder / f"{name}.pt", map_location="cpu", weights_only=True))
    if restore_rng:
        _set_rng_state(torch.load(path / "rng.pt", weights_only=True))
    return json.loads((path / "state.json").read_text())
