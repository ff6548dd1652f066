"""The user's settings: a small schema stored as JSON in the config folder."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        return settings

    def save(self, path: Path) -> None:
        write_text_atomic(path, json.dumps(dataclasses.asdict(self), indent=2))


def _fits(value: Any, default: Any) -> bool:
    """A stored value of the right JSON type (an int is a fine float; a bool is no number)."""
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temp file and rename, so a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
