"""The engine: turns a `GenerationRequest` into images. Synchronous and Qt-free.

    engine.generate(request, on_step=callback, cancel=threading.Event()) -> GenerationResult

The caller runs it on whatever thread it likes (the CLI on the main thread, the window on a
worker QThread). Recently used models stay loaded (`ModelCache`); a lock keeps generations,
and loads, one at a time.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from studio.core.errors import GenerationCancelled
from studio.core.features import LOCAL_ENGINE_FEATURES, BackendFeatures
from studio.core.identity_cache import IdentityCache
from studio.core.loras import LoraInfo
from studio.core.models import ModelInfo
from studio.core.paths import AppPaths
from studio.core.request import GenerationRequest, resolve_request
from studio.core.results import GenerationResult, LoadProgress, StepUpdate
from studio.core.settings import Settings
from studio.engine.denoised import DenoisedTracker
from studio.engine.devices import Placement, default_ram_budget
from studio.engine.library import ModelLibrary
from studio.engine.loras import LoraLibrary
from studio.engine.modes import ModeInputs
from studio.engine.pipelines import ModelCache, ResidentModel
from studio.engine.schedulers import make_scheduler
from studio.engine.steps import StepObserver, StepRecord

StepCallback = Callable[[StepUpdate], None]


class _Interrupted(Exception):  # noqa: N818 - internal signal, never leaves the engine
    """Raised inside the step callback: diffusers lets it out of `__call__` at once, so an
    abandoned image costs no VAE decode."""


class Engine:
    def __init__(
        self,
        library: ModelLibrary,
        placement: Placement | None = None,
        ram_budget_bytes: int | None = None,
    ) -> None:
        self.library = library
        self.placement = placement or Placement.choose()
        budget = ram_budget_bytes if ram_budget_bytes is not None else default_ram_budget()
        self._cache = ModelCache(self.placement, budget, library.remember_hash)
        self._loras = LoraLibrary(library.folders)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        cache = IdentityCache(AppPaths.from_environment().identity_cache_db)
        library = ModelLibrary([Path(folder) for folder in settings.model_folders], cache=cache)
        budget = int(settings.ram_cache_gb * 1e9) if settings.ram_cache_gb > 0 else None
        return cls(library, Placement.choose(settings.precision), budget)

    @property
    def features(self) -> BackendFeatures:
        return LOCAL_ENGINE_FEATURES

    def models(self, on_progress: Callable[[int, int], None] | None = None) -> list[ModelInfo]:
        return self.library.models(on_progress)

    def loras(self, model: str) -> list[LoraInfo]:
        """The LoRA files made for `model`'s family (an id or a path)."""
        return self._loras.for_model(self.describe(model))

    def load_model(
        self, model: str, on_progress: Callable[[LoadProgress], None] | None = None
    ) -> ModelInfo:
        return self.resident(model, on_progress).info

    def resident(
        self, model: str, on_progress: Callable[[LoadProgress], None] | None = None
    ) -> ResidentModel:
        """`model` loaded (or found in memory): its pipeline, schedule and adapter, for the
        engine's own tools (the noise lab) that work on the model outside a generation."""
        with self._lock:
            return self._cache.get(self.describe(model), on_progress)

    def describe(self, model: str) -> ModelInfo:
        """What `model` is, without loading it; a cached model answers without a listing (a
        warm switch)."""
        cached = self._cache.find(model)
        return cached.info if cached is not None else self.library.resolve(model)

    def generate(
        self,
        request: GenerationRequest,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
        observers: Sequence[StepObserver] = (),
    ) -> GenerationResult:
        started = time.perf_counter()
        cancel = cancel or threading.Event()
        # 1. Check inputs before any heavy work
        request.validate()
        with self._lock:
            # 2. Resolve size and seed for the model (its size multiple), then make it resident
            info = self.describe(request.model)
            request = resolve_request(request, info)
            request.validate()
            model = self._cache.get(info)
            loaded = time.perf_counter()
            # 3. Prepare the mode's inputs and the scheduler
            adapter = model.adapter
            inputs = ModeInputs.prepare(
                request, adapter.size_multiple, adapter.variant(model.info).inpainting
            )
            pipe = model.pipeline(request.mode)
            pipe.scheduler = make_scheduler(request.scheduler, model.scheduler_config)
            lora_hashes = self._loras.apply(model, request.applied_loras)
            seeds = [request.seed + i for i in range(request.batch_size)]
            generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
            if cancel.is_set():
                raise GenerationCancelled()
            # 4. Denoise, with a preview and a cancel check after every step
            callback = _StepReporter(
                model, pipe, on_step, cancel, started, inputs.kwargs, observers
            )
            encoded = dataclasses.replace(request, prompt=request.encoder_prompt)
            arguments = adapter.call_arguments(pipe, encoded, inputs.kwargs)
            try:
                with (
                    model.in_use(),
                    torch.inference_mode(),
                    model.placement.autocast(),
                    callback,
                ):
                    output = pipe(
                        **arguments,
                        generator=generators,
                        callback_on_step_end=callback,
                        callback_on_step_end_tensor_inputs=["latents"],
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
            model_hash=model.info.short_hash or "",
            lora_hashes=lora_hashes,
        )


class _StepReporter:
    """diffusers' `callback_on_step_end`: reports each step with previews of the clean-image
    estimate (x0) and of the noisy latents (x_t), hands the step to the observers (latents
    on the latent grid, unpacked for every family), and stops
    the run when the cancel event is set. As a context manager it tracks x0 on the scheduler
    and attaches the observers for the duration of the call."""

    def __init__(
        self,
        model: ResidentModel,
        pipe,
        on_step: StepCallback | None,
        cancel: threading.Event,
        started: float,
        mode_kwargs: dict,
        observers: Sequence[StepObserver] = (),
    ) -> None:
        self.model = model
        self.pipe = pipe
        self.on_step = on_step
        self.cancel = cancel
        self.started = started
        self.width = mode_kwargs.get("width", 0)
        self.height = mode_kwargs.get("height", 0)
        self.observers = tuple(observers)
        self._denoised: DenoisedTracker | None = None

    def __enter__(self) -> _StepReporter:
        self._denoised = DenoisedTracker(self.pipe.scheduler)
        for observer in self.observers:
            observer.attach(self.pipe)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._denoised is not None:
            self._denoised.restore()
        for observer in self.observers:
            observer.detach(self.pipe)

    def _grid(self, latents: torch.Tensor) -> torch.Tensor:
        """Packed latents (FLUX.1) unpacked to the latent grid."""
        return self.model.adapter.latents_to_grid(latents, self.width, self.height)

    def __call__(self, pipe, index: int, timestep, tensors: dict) -> dict:
        if self.cancel.is_set():
            raise _Interrupted()
        latents = self._grid(tensors["latents"])
        denoised = self._denoised.latest if self._denoised is not None else None
        if denoised is not None:
            denoised = self._grid(denoised)
        step = StepRecord(index + 1, pipe.num_timesteps, float(timestep), latents, denoised)
        for observer in self.observers:
            observer.record(step)
        if self.on_step is not None:
            noisy = self.model.previewer(latents)
            clean = self.model.previewer(denoised) if denoised is not None else noisy
            elapsed = time.perf_counter() - self.started
            self.on_step(StepUpdate(step.step, step.total, elapsed, clean, noisy))
        if self.cancel.is_set():
            raise _Interrupted()
        return tensors
