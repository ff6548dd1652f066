"""The engine's face as the rest of the app sees it; the UI and tests code against this."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from studio.core.features import BackendFeatures
from studio.core.models import ModelInfo
from studio.core.request import GenerationRequest
from studio.core.results import GenerationResult, StepUpdate


class EngineProtocol(Protocol):
    @property
    def features(self) -> BackendFeatures:
        """What this backend can do; front ends hide the rest."""
        ...

    def models(self) -> list[ModelInfo]:
        """Every model the engine can load, the embedded one first."""
        ...

    def load_model(self, model: str) -> ModelInfo:
        """Make `model` (an id or a path) resident; raises `ModelError`."""
        ...

    def generate(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepUpdate], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Run synchronously. Raises `RequestError`, `ModelError`, or `GenerationCancelled`."""
        ...
