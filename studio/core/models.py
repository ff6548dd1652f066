"""What the studio knows about a model without loading it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.core.schedulers import SCHEDULER_NAMES


@dataclass(frozen=True)
class ModelInfo:
    """A model the library can load, known by `id`.

    `family` names the architecture (`sd1`, `sd2`, `snail-mini`); `format` how it is stored
    (`diffusers` folder, or `safetensors` single file); `native_size` is (width, height).
    `samplers` are the scheduler names that work on its training schedule;
    `recommended_guidance` is the guidance scale its makers measured best, if they name one
    (snail-mini does); the studio starts from it when the model is chosen.
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
