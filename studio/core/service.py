"""The studio service: one generation from request to saved, recorded images, for every front end.

The CLI and the window's worker both call `StudioService.generate`; neither repeats the run,
the saving or the history. The backend is anything that follows `EngineProtocol` (the local
engine, a remote client). The whole outcome comes back in memory, so a front end never reads
its own PNGs back or re-queries the history to show what it just made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from studio.core.history import HistoryEntry, HistoryStore
from studio.core.models import ModelInfo
from studio.core.outputs import save_result, save_result_as
from studio.core.protocol import EngineProtocol
from studio.core.request import GenerationRequest
from studio.core.results import GenerationResult, LoadProgress, StepUpdate


@dataclass(frozen=True)
class StudioResult:
    """A finished, saved generation: the engine's result and one history entry per image."""

    result: GenerationResult
    entries: list[HistoryEntry]

    @property
    def images(self) -> list[Image.Image]:
        return self.result.images

    @property
    def seeds(self) -> list[int]:
        return self.result.seeds

    @property
    def paths(self) -> list[Path]:
        return [entry.path for entry in self.entries]


class StudioService:
    """Runs requests on `backend`, saves each image under `outputs_dir`, records it in `history`."""

    def __init__(self, backend: EngineProtocol, history: HistoryStore, outputs_dir: Path) -> None:
        self.backend = backend
        self.history = history
        self.outputs_dir = Path(outputs_dir)

    def describe(self, model: str) -> ModelInfo:
        """What `model` (an id or a path) is, without loading it; raises `ModelError`."""
        return self.backend.describe(model)

    def load_model(
        self, model: str, on_progress: Callable[[LoadProgress], None] | None = None
    ) -> ModelInfo:
        """Make `model` (an id or a path) resident and say what it is; raises `ModelError`."""
        return self.backend.load_model(model, on_progress)

    def generate(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepUpdate], None] | None = None,
        cancel: threading.Event | None = None,
        out: Path | None = None,
        observers: Sequence[Any] = (),
    ) -> StudioResult:
        """Run `request`, then save and record every image before returning.

        `out` is a `.png` path the user chose (a batch gets `-1`, `-2`, ... suffixes) or another
        folder; by default the images go to the outputs folder. `observers` see every step
        (timeline, attention; the backend's own kind). Raises what the backend raises
        (`RequestError`, `ModelError`, `GenerationCancelled`).
        """
        result = self.backend.generate(request, on_step, cancel, observers)
        if out is not None and out.suffix.lower() == ".png":
            entries = save_result_as(result, out, self.history)
        else:
            entries = save_result(result, out or self.outputs_dir, self.history)
        return StudioResult(result, entries)
