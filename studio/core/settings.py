"""The user's settings: a small schema stored as JSON in the config folder."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.files import write_text_atomic
from studio.core.models import ModelInfo
from studio.core.request import DEFAULT_SCHEDULER

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class Settings:
    model_folders: list[str] = field(default_factory=list)
    output_dir: str = ""  # empty: the platform's pictures folder (see AppPaths)
    default_model: str = "snail-mini"
    default_steps: int = 20
    default_scheduler: str = DEFAULT_SCHEDULER
    default_width: int = 0  # 0: the model's native size
    default_height: int = 0
    default_guidance: float = 7.5
    precision: str = "auto"
    ram_cache_gb: float = 0.0  # loaded models kept in memory; 0: 60% of the machine's memory
    # ComfyUI servers to generate on, each {"url": ..., "token": ...}; none: this machine
    servers: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Settings:
        """Read settings; a missing or unreadable file gives defaults (never raises)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        defaults = cls()
        for name, value in data.items():
            if name in known and _fits(value, getattr(defaults, name)):
                kwargs[name] = float(value) if isinstance(getattr(defaults, name), float) else value
        settings = cls(**kwargs)
        if settings.precision not in PRECISIONS:
            settings.precision = "auto"
        settings.servers = [
            {"url": s["url"], "token": str(s.get("token", ""))}
            for s in settings.servers
            if isinstance(s, dict) and isinstance(s.get("url"), str) and s["url"].strip()
        ]
        return settings

    def guidance_for(self, model: ModelInfo | None) -> float:
        """The guidance to start from with `model`: its recommendation, else the default."""
        if model is not None and model.recommended_guidance is not None:
            return model.recommended_guidance
        return self.default_guidance

    def steps_for(self, model: ModelInfo | None) -> int:
        """The steps to start from with `model`: the ones its family needs (FLUX.1 schnell
        is made for 4), else the default."""
        if model is not None and model.default_steps is not None:
            return model.default_steps
        return self.default_steps

    def outputs_folder(self, default: Path) -> Path:
        """Where finished images go: the chosen folder, else `default` (AppPaths.outputs_dir)."""
        return Path(self.output_dir).expanduser() if self.output_dir else default

    def save(self, path: Path) -> None:
        """Readable by the user only: it may hold servers' tokens."""
        write_text_atomic(path, json.dumps(dataclasses.asdict(self), indent=2), private=True)


def _fits(value: Any, default: Any) -> bool:
    """A stored value of the right JSON type (an int is a fine float; a bool is no number)."""
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))
