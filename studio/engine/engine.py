"""The engine: turns a `GenerationRequest` into images. Synchronous and Qt-free.

    engine.generate(request, on_step=callback, cancel=threading.Event()) -> GenerationResult

The caller runs it on whatever thread it likes (the CLI on the main thread, the window on a
worker QThread). One model is resident at a time; a lock keeps generations one at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from studio.core.errors import GenerationCancelled
from studio.core.features import LOCAL_ENGINE_FEATURES, BackendFeatures
from studio.core.models import ModelInfo
from studio.core.request import GenerationRequest
from studio.core.results import GenerationResult, StepUpdate
from studio.core.settings import Settings
from studio.engine.devices import Placement
from studio.engine.library import ModelLibrary
from studio.engine.modes import ModeInputs, resolve_request
from studio.engine.pipelines import ModelCache, ResidentModel
from studio.engine.schedulers import make_scheduler

StepCallback = Callable[[StepUpdate], None]


class _Interrupted(Exception):  # noqa: N818 - internal signal, never leaves the engine
    """Raised inside the step callback: diffusers lets it out of `__call__` at once, so an
    abandoned image costs no VAE decode."""


class Engine:
    def __init__(self, library: ModelLibrary, placement: Placement | None = None) -> None:
        self.library = library
        self.placement = placement or Placement.choose()
        self._cache = ModelCache(self.placement)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        library = ModelLibrary([Path(folder) for folder in settings.model_folders])
        return cls(library, Placement.choose(settings.precision))

    @property
    def features(self) -> BackendFeatures:
        return LOCAL_ENGINE_FEATURES

    def models(self) -> list[ModelInfo]:
        return self.library.models()

    def load_model(self, model: str) -> ModelInfo:
        with self._lock:
            return self._resident(model).info

    def _resident(self, model: str) -> ResidentModel:
        current = self._cache.current
        if current is not None and model in (current.info.id, str(current.info.path)):
            return current
        return self._cache.get(self.library.resolve(model))

    def generate(
        self,
        request: GenerationRequest,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        started = time.perf_counter()
        cancel = cancel or threading.Event()
        # 1. Check inputs before any heavy work
        request.validate()
        with self._lock:
            # 2. Make the model resident
            model = self._resident(request.model)
            loaded = time.perf_counter()
            # 3. Resolve size and seed, prepare the mode's inputs and the scheduler
            request = resolve_request(request, model.info)
            request.validate()
            inputs = ModeInputs.prepare(request)
            pipe = model.pipeline(request.mode)
            pipe.scheduler = make_scheduler(request.scheduler, model.scheduler_config)
            seeds = [request.seed + i for i in range(request.batch_size)]
            generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
            if cancel.is_set():
                raise GenerationCancelled()
            # 4. Denoise, with a preview and a cancel check after every step
            callback = _StepReporter(model, on_step, cancel, started)
            try:
                with torch.inference_mode(), self.placement.autocast():
                    output = pipe(
                        prompt=request.prompt,
                        negative_prompt=request.negative_prompt or None,
                        num_inference_steps=request.steps,
                        guidance_scale=request.guidance_scale,
                        num_images_per_prompt=request.batch_size,
                        generator=generators,
                        callback_on_step_end=callback,
                        callback_on_step_end_tensor_inputs=["latents"],
                        **inputs.kwargs,
                    )
            except _Interrupted:
                raise GenerationCancelled() from None
            # 5. Post-process: inpainting pastes the original back outside the mask
            images = inputs.finish(list(output.images))
        finished = time.perf_counter()
        return GenerationResult(
            request=request,
            images=images,
            seeds=seeds,
            timings={
                "load": loaded - started,
                "denoise": finished - loaded,
                "total": finished - started,
            },
            model_name=model.info.name,
        )


class _StepReporter:
    """diffusers' `callback_on_step_end`: reports the step with a latent preview, and stops
    the run when the cancel event is set."""

    def __init__(
        self,
        model: ResidentModel,
        on_step: StepCallback | None,
        cancel: threading.Event,
        started: float,
    ) -> None:
        self.model = model
        self.on_step = on_step
        self.cancel = cancel
        self.started = started

    def __call__(self, pipe, index: int, timestep, tensors: dict) -> dict:
        if self.cancel.is_set():
            raise _Interrupted()
        if self.on_step is not None:
            preview = self.model.previewer(tensors["latents"])
            elapsed = time.perf_counter() - self.started
            self.on_step(StepUpdate(index + 1, pipe.num_timesteps, elapsed, preview))
        if self.cancel.is_set():
            raise _Interrupted()
        return tensors
