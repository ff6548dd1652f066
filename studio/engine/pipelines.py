"""Loading models and keeping one resident, with its mode variants sharing its modules."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

from diffusers import DiffusionPipeline

from studio.core.errors import ModelError
from studio.core.models import ModelInfo
from studio.core.request import Mode
from studio.core.results import LoadProgress
from studio.engine.devices import MEMORY_HEADROOM, Placement, available_memory
from studio.engine.families import FamilyAdapter, adapter_for
from studio.engine.previews import LatentPreviewer
from studio.engine.warm import read_through

log = logging.getLogger(__name__)


class ResidentModel:
    """A loaded model: one base pipeline; img2img and inpaint made with `from_pipe` (no copies)."""

    def __init__(self, info: ModelInfo, base: DiffusionPipeline, placement: Placement) -> None:
        self.info = info
        self.base = base
        self.placement = placement
        self.adapter: FamilyAdapter = adapter_for(info)
        self.previewer: LatentPreviewer = self.adapter.previewer(info)
        # Schedulers are rebuilt per request from the model's own training schedule; keep it
        # apart from the pipeline's scheduler, which each request replaces.
        self.scheduler_config = base.scheduler.config
        self._variants: dict[Mode, DiffusionPipeline] = {}

    def pipeline(self, mode: Mode) -> DiffusionPipeline:
        if mode not in self._variants:
            variant = self.adapter.mode_pipeline(self.base, mode, self.info)
            if variant is not self.base:
                variant.set_progress_bar_config(disable=True)
            self._variants[mode] = variant
        return self._variants[mode]


def load_pipeline(info: ModelInfo, placement: Placement) -> DiffusionPipeline:
    """Load a model from local files only; any failure becomes one-line `ModelError`."""
    if info.problem is not None:
        raise ModelError(f"{info.name}: {info.problem}")
    needed, available = info.memory_bytes or 0, available_memory()
    if needed > available * MEMORY_HEADROOM:
        raise ModelError(
            f"{info.name}: needs about {needed / 1e9:.1f} GB of memory for its weights; "
            f"{available / 1e9:.1f} GB is available now"
        )
    try:
        pipe = adapter_for(info).load(info, placement)
    except ModelError:
        raise
    except Exception as exc:  # diffusers raises many kinds; all mean "broken model"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load model '{info.id}': {reason}") from exc
    pipe.to(placement.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


class ModelCache:
    """Keeps one model resident. Switching releases the old one first (memory), and if the
    new one fails to load, brings the old one back and reports the failure (IOPaint's way)."""

    def __init__(self, placement: Placement) -> None:
        self.placement = placement
        self.current: ResidentModel | None = None

    def get(
        self, info: ModelInfo, on_progress: Callable[[LoadProgress], None] | None = None
    ) -> ResidentModel:
        if self.current is not None and self.current.info.path == info.path:
            return self.current
        previous = self.current.info if self.current is not None else None
        self.release()
        try:
            read_through(info, on_progress)
            self.current = self._load(info)
        except ModelError:
            if previous is not None:
                try:
                    self.current = self._load(previous)
                except ModelError:
                    log.exception("could not restore the previous model %s", previous.id)
            raise
        return self.current

    def _load(self, info: ModelInfo) -> ResidentModel:
        placement = self.placement.for_model(info.parameters)
        return ResidentModel(info, load_pipeline(info, placement), placement)

    def release(self) -> None:
        self.current = None
        gc.collect()
