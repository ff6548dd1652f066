"""The engine's face as the rest of the app sees it; the UI and tests code against this."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from studio.core.features import BackendFeatures
from studio.core.loras import LoraInfo
from studio.core.models import ModelInfo
from studio.core.request import GenerationRequest
from studio.core.results import GenerationResult, LoadProgress, StepUpdate


class EngineProtocol(Protocol):
    @property
    def features(self) -> BackendFeatures:
        """What this backend can do; front ends hide the rest."""
        ...

    def models(self, on_progress: Callable[[int, int], None] | None = None) -> list[ModelInfo]:
        """Every model found, the embedded one first; those that cannot run say why.
        `on_progress(done, total)` follows a scan of the model folders."""
        ...

    def loras(self, model: str) -> list[LoraInfo]:
        """The LoRA files made for `model`'s family. Optional: front ends treat a backend
        without it as one that applies no LoRAs."""
        ...

    def describe(self, model: str) -> ModelInfo:
        """What `model` (an id or a path) is, without loading it; raises `ModelError` when
        there is no such model."""
        ...

    def load_model(
        self, model: str, on_progress: Callable[[LoadProgress], None] | None = None
    ) -> ModelInfo:
        """Make `model` (an id or a path) resident, reporting the bytes read from disk;
        raises `ModelError`."""
        ...

    def generate(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepUpdate], None] | None = None,
        cancel: threading.Event | None = None,
        observers: Sequence[Any] = (),
    ) -> GenerationResult:
        """Run synchronously. Raises `RequestError`, `ModelError`, or `GenerationCancelled`.
        `observers` see every step's latents (the engine's `StepObserver`s)."""
        ...
