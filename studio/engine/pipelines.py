"""Loading models and keeping one resident, with its mode variants sharing its modules."""

from __future__ import annotations

import gc
import logging

from diffusers import (
    DiffusionPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
)

from studio.core.errors import ModelError
from studio.core.models import ModelInfo
from studio.core.request import Mode
from studio.engine.devices import Placement
from studio.engine.previews import LatentPreviewer

log = logging.getLogger(__name__)

_VARIANTS: dict[Mode, type[DiffusionPipeline]] = {
    Mode.IMG2IMG: StableDiffusionImg2ImgPipeline,
    Mode.INPAINT: StableDiffusionInpaintPipeline,
}


class ResidentModel:
    """A loaded model: one base pipeline; img2img and inpaint made with `from_pipe` (no copies)."""

    def __init__(
        self, info: ModelInfo, base: StableDiffusionPipeline, placement: Placement
    ) -> None:
        self.info = info
        self.base = base
        self.placement = placement
        self.previewer = LatentPreviewer.for_model(info.path)
        # Schedulers are rebuilt per request from the model's own training schedule; keep it
        # apart from the pipeline's scheduler, which each request replaces.
        self.scheduler_config = base.scheduler.config
        self._variants: dict[Mode, DiffusionPipeline] = {Mode.TXT2IMG: base}

    def pipeline(self, mode: Mode) -> DiffusionPipeline:
        if mode not in self._variants:
            variant = _VARIANTS[mode].from_pipe(self.base, dtype=self.placement.weights_dtype)
            variant.set_progress_bar_config(disable=True)
            self._variants[mode] = variant
        return self._variants[mode]


def load_pipeline(info: ModelInfo, placement: Placement) -> StableDiffusionPipeline:
    """Load a diffusers folder from local files only; any failure becomes one-line `ModelError`."""
    try:
        pipe = StableDiffusionPipeline.from_pretrained(
            info.path,
            local_files_only=True,
            dtype=placement.weights_dtype,
            safety_checker=None,
            requires_safety_checker=False,
        )
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

    def get(self, info: ModelInfo) -> ResidentModel:
        if self.current is not None and self.current.info.path == info.path:
            return self.current
        previous = self.current.info if self.current is not None else None
        self.release()
        try:
            self.current = ResidentModel(info, load_pipeline(info, self.placement), self.placement)
        except ModelError:
            if previous is not None:
                try:
                    self.current = ResidentModel(
                        previous, load_pipeline(previous, self.placement), self.placement
                    )
                except ModelError:
                    log.exception("could not restore the previous model %s", previous.id)
            raise
        return self.current

    def release(self) -> None:
        self.current = None
        gc.collect()
