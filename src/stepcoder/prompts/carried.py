"""The model carries its prompt: SFT and PPO write the prompt settings they trained with next
to the weights (``prompt_config.json``), and ``eval``/``train`` read them unless told otherwise,
so a model is never measured on a prompt format it was not trained on."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from stepcoder.prompts.templates import PromptConfig

PROMPT_FILE = "prompt_config.json"


def save_prompt_config(config: PromptConfig, model_dir: str | Path) -> Path:
    path = Path(model_dir) / PROMPT_FILE
    data = dataclasses.asdict(config)
    data["stop"] = list(config.stop) if config.stop is not None else None
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def _settings_file(model_dir: Path) -> Path | None:
    """``model_dir/prompt_config.json``; for a PPO checkpoint's ``RUN/checkpoints/step-N/policy``
    the run directory's."""
    candidates = [model_dir]
    if model_dir.name == "policy" and model_dir.parent.parent.name == "checkpoints":
        candidates.append(model_dir.parents[2])
    return next((d / PROMPT_FILE for d in candidates if (d / PROMPT_FILE).is_file()), None)


def load_prompt_config(model_dir: str | Path) -> PromptConfig | None:
    """The prompt settings saved with a model folder, or None when it has none (a hub model,
    a folder written elsewhere). A malformed file is an error naming it."""
    path = _settings_file(Path(model_dir))
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in dataclasses.fields(PromptConfig)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        if data.get("stop") is not None:
            data["stop"] = tuple(data["stop"])
        return PromptConfig(**data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a valid prompt settings file: {exc}") from None


def prompt_config_for(configured: PromptConfig, model_dir: str | Path) -> PromptConfig:
    """``configured`` unless it is the untouched default and the model carries settings: a
    model trained here keeps its prompt unless the user asks for another."""
    if configured != PromptConfig() or not Path(model_dir).is_dir():
        return configured
    return load_prompt_config(model_dir) or configured
