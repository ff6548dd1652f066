"""A scriptable engine for UI tests, following `EngineProtocol` (Krita AI Diffusion's MockClient).

A test decides what happens: how many steps, whether the next job fails, whether a job
blocks mid-run until released, and whether loading a model blocks. Everything it is asked
is recorded (requests, loads, the threads it ran on), so tests can assert the worker, not
the UI thread, did the work.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.core.errors import GenerationCancelled, ModelError
from studio.core.features import LOCAL_ENGINE_FEATURES, BackendFeatures
from studio.core.loras import LoraInfo
from studio.core.models import ModelInfo
from studio.core.request import MAX_SEED, GenerationRequest, Mode
from studio.core.results import GenerationResult, LoadProgress, StepUpdate
from studio.core.schedulers import samplers_for

FAKE_MODELS = (
    ModelInfo(
        "other-sd15", "Other SD 1.5", "sd1", "safetensors", Path("/models/other.safetensors")
    ),
    ModelInfo(
        "snail-mini",
        "Snail Mini",
        "snail-mini",
        "diffusers",
        Path("/models/snail-mini"),
        native_size=(256, 256),
        embedded=True,
        samplers=samplers_for({"rescale_betas_zero_snr": True}),
        recommended_guidance=2.5,
    ),
)
# LoRAs by model family, as the engine lists them for a model of that family.
FAKE_LORAS: dict[str, tuple[LoraInfo, ...]] = {
    "snail-mini": (
        LoraInfo("ink-wash", Path("/models/loras/ink-wash.safetensors"), "SD 1.x"),
        LoraInfo("paper-cut", Path("/models/loras/paper-cut.safetensors"), "SD 1.x"),
        LoraInfo(
            "old-loha",
            Path("/models/loras/old-loha.safetensors"),
            "SD 1.x",
            problem="a LyCORIS LoHa, which diffusers cannot apply",
        ),
    ),
}
WAIT_LIMIT = 10.0  # seconds a held job or load waits before the fake gives up (a test bug)


class FakeEngine:
    def __init__(self, models: tuple[ModelInfo, ...] = FAKE_MODELS, step_delay: float = 0.0):
        self._models = {m.id: m for m in models}
        self.step_delay = step_delay
        self.requests: list[GenerationRequest] = []
        self.loads: list[str] = []
        self.listings = 0  # models() calls: each is a scan of the model folders
        self.workers: list[str] = []  # as a remote backend says where each image was made
        self.declared_features = LOCAL_ENGINE_FEATURES
        self.threads: set[str] = set()
        self.loaded: str | None = None
        self._failures: list[BaseException] = []
        self._load_failures: dict[str, BaseException] = {}
        self._hold_at: int | None = None
        self._gate = threading.Event()
        self._gate.set()
        self._load_gate = threading.Event()
        self._load_gate.set()
        self.holding = threading.Event()  # set while a job waits at the held step

    # -- scripting -------------------------------------------------------------------------

    def fail_next(self, error: BaseException) -> None:
        """The next generate() raises `error` (after recording the request)."""
        self._failures.append(error)

    def fail_load(self, model: str, error: BaseException) -> None:
        """Loading `model` raises `error` (the engine then keeps the previous model)."""
        self._load_failures[model] = error

    def hold(self, at_step: int = 1) -> None:
        """Jobs pause after reporting `at_step` until `release()` (or their cancel)."""
        self._hold_at = at_step
        self._gate.clear()

    def release(self) -> None:
        self._hold_at = None
        self._gate.set()

    def hold_loads(self) -> None:
        self._load_gate.clear()

    def release_loads(self) -> None:
        self._load_gate.set()

    # -- EngineProtocol --------------------------------------------------------------------

    @property
    def features(self) -> BackendFeatures:
        return self.declared_features

    def models(self, on_progress: Callable[[int, int], None] | None = None) -> list[ModelInfo]:
        self._note_thread()
        self.listings += 1
        if on_progress is not None:
            on_progress(len(self._models), len(self._models))
        return list(self._models.values())

    def loras(self, model: str) -> list[LoraInfo]:
        self._note_thread()
        info = self._models.get(model)
        return list(FAKE_LORAS.get(info.family, ())) if info is not None else []

    def describe(self, model: str) -> ModelInfo:
        if model not in self._models:
            raise ModelError(f"unknown model {model!r}")
        return self._models[model]

    def load_model(
        self, model: str, on_progress: Callable[[LoadProgress], None] | None = None
    ) -> ModelInfo:
        """Reports reading half of a 2 GB model, then waits while loads are held."""
        self._note_thread()
        self.loads.append(model)
        if on_progress is not None:
            on_progress(LoadProgress(model, 10**9, 2 * 10**9))
        if not self._load_gate.wait(WAIT_LIMIT):
            raise ModelError("fake load was held and never released")
        if model in self._load_failures:
            raise self._load_failures[model]
        if model not in self._models:
            raise ModelError(f"unknown model {model!r}")
        self.loaded = model
        return self._models[model]

    def generate(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepUpdate], None] | None = None,
        cancel: threading.Event | None = None,
        observers: Sequence[Any] = (),
    ) -> GenerationResult:
        """`observers` are ignored: the fake has no latents to show them."""
        self._note_thread()
        self.requests.append(request)
        request.validate()
        if self._failures:
            raise self._failures.pop(0)
        cancel = cancel or threading.Event()
        request = self._resolve(request)
        start = time.perf_counter()
        total = request.steps
        if request.mode.uses_init_image:  # like diffusers: strength's share of the steps
            total = max(1, int(request.steps * request.strength))
        for step in range(1, total + 1):
            if cancel.is_set():
                raise GenerationCancelled()
            if self.step_delay:
                time.sleep(self.step_delay)
            if on_step is not None:
                preview = _pattern(request.seed or 0, (64, 64), step / total)
                noisy = _pattern(request.seed or 0, (64, 64), step / total / 2)
                elapsed = time.perf_counter() - start
                on_step(StepUpdate(step, total, elapsed, preview, noisy))
            if self._hold_at == step:
                self._wait_for_release(cancel)
        seeds = [(request.seed or 0) + i for i in range(request.batch_size)]
        images = [self._image(request, seed) for seed in seeds]
        elapsed = time.perf_counter() - start
        return GenerationResult(
            request,
            images,
            seeds,
            {"total": elapsed},
            self._name(request),
            workers=[self.workers[i % len(self.workers)] for i in range(len(images))]
            if self.workers
            else [],
        )

    # -- internals -------------------------------------------------------------------------

    def _note_thread(self) -> None:
        self.threads.add(threading.current_thread().name)

    def _wait_for_release(self, cancel: threading.Event) -> None:
        self.holding.set()
        deadline = time.monotonic() + WAIT_LIMIT
        try:
            while not self._gate.wait(0.005):
                if cancel.is_set():
                    raise GenerationCancelled()
                if time.monotonic() > deadline:
                    raise RuntimeError("fake job was held and never released")
        finally:
            self.holding.clear()

    def _resolve(self, request: GenerationRequest) -> GenerationRequest:
        seed = request.seed if request.seed is not None else random.randint(0, MAX_SEED)
        if request.mode.uses_init_image and request.init_image is not None:
            width, height = request.init_image.size
        elif request.size is not None:
            width, height = request.size
        else:
            width, height = self._models.get(request.model, FAKE_MODELS[1]).native_size
        return dataclasses.replace(request, seed=seed, width=width, height=height)

    def _image(self, request: GenerationRequest, seed: int) -> Image.Image:
        size = (request.width or 64, request.height or 64)
        image = _pattern(seed, size, 1.0)
        if request.mode is Mode.INPAINT and request.init_image and request.mask:
            # Like the real engine: pixels outside the mask come back unchanged.
            image = Image.composite(image, request.init_image.convert("RGB"), request.mask)
        return image

    def _name(self, request: GenerationRequest) -> str:
        info = self._models.get(request.model)
        return info.name if info else request.model


def _pattern(seed: int, size: tuple[int, int], clarity: float) -> Image.Image:
    """A soft, seed-dependent colour field; noisier at low `clarity`, like an early step."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x /= max(width - 1, 1)
    y /= max(height - 1, 1)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(1.0, 4.0), rng.uniform(1.0, 4.0), rng.uniform(0, 6.28)
        channels.append(0.5 + 0.5 * np.sin(fx * 3.14 * x + phase) * np.cos(fy * 3.14 * y))
    rgb = np.stack(channels, axis=-1)
    noise = rng.random(rgb.shape, dtype=np.float32)
    rgb = clarity * rgb + (1.0 - clarity) * noise
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
