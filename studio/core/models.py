"""What the studio knows about a model without loading it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.schedulers import SCHEDULER_NAMES


@dataclass(frozen=True)
class ModelInfo:
    """A model the library can load, known by `id`.

    `family` names the architecture (`sd1`, `sd2`, `sdxl`, `sd3`, `flux`, `snail-mini`) and
    `family_label` shows it to a person ("SDXL"); `format` says how it is stored (`diffusers`
    folder, `safetensors` or `gguf` single file); `native_size` is (width, height).
    `samplers` are the scheduler names that work on its training schedule;
    `recommended_guidance` is the guidance scale its makers measured best, if they name one
    (snail-mini does); the studio starts from it when the model is chosen.

    A model that cannot run here is still listed, with `problem` saying why in one line
    (a broken file, a missing text encoder, not enough memory). The `uses_*` flags and
    `size_multiple` tell front ends which controls and sizes apply to it. `variant` is the
    kind of checkpoint within the family (`v1`, `xl_inpaint`, `flux-dev`); `components` are
    the separate files a single file is completed with (name, path); `notes` say what a
    person should know (e.g. "runs without T5-XXL"). `short_hash` is AUTOMATIC1111's
    "Model hash" of a single file (the first 10 hex digits of its SHA-256), once computed.
    """

    id: str
    name: str
    family: str
    format: str
    path: Path
    native_size: tuple[int, int] = (512, 512)
    embedded: bool = False
    samplers: tuple[str, ...] = SCHEDULER_NAMES
    recommended_guidance: float | None = None
    family_label: str = ""
    problem: str | None = None
    uses_negative_prompt: bool = True
    uses_guidance: bool = True
    uses_true_cfg: bool = False  # real CFG with a negative prompt beside distilled guidance
    size_multiple: int = 8
    default_steps: int | None = None
    memory_bytes: int | None = None
    parameters: int = 0
    variant: str = ""
    components: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    short_hash: str | None = None
    file_bytes: int = 0
    schedule: tuple[tuple[str, object], ...] = ()  # scheduler settings the file itself states
    missing: tuple[str, ...] = ()  # parts a single file needs and its model tree lacks

    @property
    def usable(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: tuples become lists, the path a string."""
        return {**dataclasses.asdict(self), "path": str(self.path)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        """Rebuild from `to_dict` output; raises `TypeError`/`KeyError` on foreign data."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["path"] = Path(values["path"])
        for name in ("native_size", "samplers", "notes", "missing"):
            if name in values:
                values[name] = tuple(values[name])
        for name in ("components", "schedule"):
            if name in values:
                values[name] = tuple(tuple(pair) for pair in values[name])
        return cls(**values)
