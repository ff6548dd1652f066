"""The thin Qt adapter around the engine: one long-lived worker on its own QThread.

`EngineWorker` lives on the worker thread and is the only object that touches the engine;
it never touches widgets. `WorkerClient` lives on the UI thread, owns the thread, and sends
requests in as queued signals. Cancelling sets the job's `threading.Event` directly from the
UI thread, so a cancel never waits in the queue behind the job it is meant to stop.

A backend that runs several jobs at once (ComfyUI servers: one job each) gets them on that
many lane threads, started from the worker thread; the local engine runs one job at a time
on the worker thread itself. Signals about a job carry its id.
"""

from __future__ import annotations

import functools
import gc
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from studio.core.errors import GenerationCancelled, StudioError
from studio.core.history import HistoryStore
from studio.core.models import ModelInfo
from studio.core.paths import AppPaths
from studio.core.protocol import EngineProtocol
from studio.core.request import GenerationRequest
from studio.core.results import StepUpdate
from studio.core.service import StudioResult, StudioService
from studio.core.settings import Settings
from studio.ui.job_queue import Job
from studio.ui.qt_images import pil_to_qimage
from studio.ui.sight_worker import SightWorker

log = logging.getLogger(__name__)

EngineFactory = Callable[[Settings], EngineProtocol]


def default_engine_factory(settings: Settings) -> EngineProtocol:
    """Build the backend: the ComfyUI servers in the settings, else the local engine (called
    on the worker thread, so torch is imported there)."""
    if settings.servers:
        from studio.remote import ComfyBackend, ServerConfig

        return ComfyBackend([ServerConfig(s["url"], s["token"]) for s in settings.servers])
    from studio.engine import Engine

    return Engine.from_settings(settings)


@dataclass(frozen=True)
class FinishedJob:
    """A saved generation and its images as QImages, made on the worker thread."""

    outcome: StudioResult
    images: list[QImage]


class EngineWorker(QObject):
    """Runs on the worker thread. Slots are invoked through queued signals only."""

    started = Signal(int)  # job id
    progress = Signal(int, object)  # job id, StepUpdate
    preview = Signal(int, QImage)  # job id, the clean-image estimate (x0)
    step_previews = Signal(int, int, QImage, QImage)  # step, total, x0, x_t
    finished = Signal(int, object)  # job id, FinishedJob
    failed = Signal(int, str)  # job id, message fit to show a person
    cancelled = Signal(int)
    models_listed = Signal(list)  # list[ModelInfo], embedded first
    features_known = Signal(object)  # BackendFeatures: what the backend can do
    scan_progress = Signal(int, int)  # model files looked at, of how many, while listing
    model_loading = Signal(str)
    load_progress = Signal(object)  # LoadProgress: bytes read of the model's files
    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    loras_listed = Signal(str, list)  # model id, list[LoraInfo] for its family

    def __init__(self, engine_factory: EngineFactory, settings: Settings, paths: AppPaths) -> None:
        super().__init__()
        self._factory = engine_factory
        self._settings = settings
        self._paths = paths
        self._engine: EngineProtocol | None = None
        self._history: HistoryStore | None = None
        self._loaded: ModelInfo | None = None
        self._model_lock = threading.Lock()  # lanes may ask for a model at once
        self._lanes: ThreadPoolExecutor | None = None
        self.sight = SightWorker(self._ensure_engine, self)

    def _ensure_engine(self) -> EngineProtocol:
        if self._engine is None:
            self._engine = self._factory(self._settings)
        return self._engine

    def _ensure_model(self, model: str) -> None:
        with self._model_lock:
            if self._loaded is not None and model in (self._loaded.id, str(self._loaded.path)):
                return
            engine = self._ensure_engine()
            self.sight.release()
            self.model_loading.emit(model)
            self._loaded = engine.load_model(model, self.load_progress.emit)
            self.model_loaded.emit(self._loaded)

    @Slot()
    def list_models(self) -> None:
        try:
            engine = self._ensure_engine()
            self.features_known.emit(engine.features)
            models = engine.models(self.scan_progress.emit)
        except Exception as exc:
            log.exception("listing models failed")
            self.model_failed.emit(_message(exc))
            return
        self.models_listed.emit(sorted(models, key=lambda m: not m.embedded))

    @Slot(str)
    def list_loras(self, model: str) -> None:
        """The model's LoRAs (reading file headers: off the UI thread); none from a backend
        that has no `loras`."""
        lister = getattr(self._ensure_engine(), "loras", None)
        try:
            loras = lister(model) if lister is not None else []
        except Exception as exc:
            log.exception("listing LoRAs for %s failed", model)
            self.model_failed.emit(_message(exc))
            return
        self.loras_listed.emit(model, loras)

    @Slot(str)
    def load_model(self, model: str) -> None:
        try:
            self._ensure_model(model)
        except Exception as exc:
            log.exception("loading %s failed", model)
            self.model_failed.emit(_message(exc))
            if self._loaded is not None:
                self.model_loaded.emit(self._loaded)  # the engine keeps the previous model

    @Slot(object)
    def configure(self, settings: Settings) -> None:
        """New settings. Other model folders, precision or servers need a new engine (built on
        next use)."""
        old, self._settings = self._settings, settings
        keys = ("model_folders", "precision", "servers")
        if all(getattr(old, key) == getattr(settings, key) for key in keys):
            return
        self.stop_lanes()
        if hasattr(self._engine, "close"):  # a remote backend's connections
            self._engine.close()
        self._engine = None
        self._loaded = None
        self.sight.release()
        gc.collect()
        self.list_models()

    @Slot(int, object, object)
    def generate(self, job_id: int, request: GenerationRequest, cancel: threading.Event) -> None:
        """Run the job here, or on a lane when the backend runs several jobs at once."""
        if cancel.is_set():
            self.cancelled.emit(job_id)
            return
        try:
            parallel = self._ensure_engine().features.parallel_jobs
        except Exception as exc:
            log.exception("the engine could not start")
            self.failed.emit(job_id, _message(exc))
            return
        if parallel > 1:
            if self._lanes is None:
                self._lanes = ThreadPoolExecutor(parallel, thread_name_prefix="studio-lane")
            self._lanes.submit(self._run, job_id, request, cancel)
        else:
            self._run(job_id, request, cancel)

    def stop_lanes(self) -> None:
        """Wait for the jobs running on lanes (their cancel events are set by then)."""
        lanes, self._lanes = self._lanes, None
        if lanes is not None:
            lanes.shutdown(wait=True)

    def _run(self, job_id: int, request: GenerationRequest, cancel: threading.Event) -> None:
        self.started.emit(job_id)
        result = None  # the run's result, once it made one
        try:
            try:
                self._ensure_model(request.model)
            except Exception as exc:
                self.model_failed.emit(_message(exc))
                if self._loaded is not None:
                    self.model_loaded.emit(self._loaded)  # the engine keeps the previous model
                raise
            observers = self.sight.observers_for_run(job_id)
            on_step = functools.partial(self._on_step, job_id)
            outcome = self._service().generate(request, on_step, cancel, observers=observers)
            result = outcome.result
            self.sight.run_ended(job_id, result)
            images = [pil_to_qimage(image) for image in outcome.images]
        except GenerationCancelled:
            self.cancelled.emit(job_id)
        except Exception as exc:
            if not isinstance(exc, StudioError):
                log.exception("job %d failed", job_id)
            self.failed.emit(job_id, _message(exc))
        else:
            self.finished.emit(job_id, FinishedJob(outcome, images))
        finally:
            if result is None:
                self.sight.run_ended(job_id, None)

    def _service(self) -> StudioService:
        if self._history is None:
            self._history = HistoryStore(self._paths.history_db)
        outputs = self._settings.outputs_folder(self._paths.outputs_dir)
        return StudioService(self._ensure_engine(), self._history, outputs)

    def _on_step(self, job_id: int, update: StepUpdate) -> None:
        self.progress.emit(job_id, update)
        if update.preview is not None:
            clean = pil_to_qimage(update.preview)
            noisy = pil_to_qimage(update.noisy_preview or update.preview)
            self.step_previews.emit(update.step, update.total, clean, noisy)
            self.preview.emit(job_id, clean)


def _message(exc: BaseException) -> str:
    if isinstance(exc, StudioError):
        return str(exc)
    if isinstance(exc, ImportError):
        return f"The engine could not start: {exc}"
    if isinstance(exc, OSError):
        return f"Could not read or write a file: {exc}"
    return f"Unexpected error ({type(exc).__name__}): {exc}"


class WorkerClient(QObject):
    """UI-thread handle: owns the worker thread and forwards requests as queued signals."""

    _generate = Signal(int, object, object)
    _list_models = Signal()
    _load_model = Signal(str)
    _configure = Signal(object)
    _list_loras = Signal(str)

    def __init__(
        self,
        engine_factory: EngineFactory,
        settings: Settings,
        paths: AppPaths,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("engine-worker")
        self.worker = EngineWorker(engine_factory, settings, paths)
        self.worker.moveToThread(self.thread)
        self._generate.connect(self.worker.generate)
        self._list_models.connect(self.worker.list_models)
        self._load_model.connect(self.worker.load_model)
        self._configure.connect(self.worker.configure)
        self._list_loras.connect(self.worker.list_loras)

    def start(self) -> None:
        self.thread.start()

    def submit(self, job: Job) -> None:
        self._generate.emit(job.id, job.request, job.cancel)

    def list_models(self) -> None:
        self._list_models.emit()

    def load_model(self, model: str) -> None:
        self._load_model.emit(model)

    def configure(self, settings: Settings) -> None:
        self._configure.emit(settings)

    def list_loras(self, model: str) -> None:
        self._list_loras.emit(model)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the thread once its current slot returns; False if it is still busy. Jobs on
        lanes are waited for first (cancel them before)."""
        if not self.thread.isRunning():
            return True
        self.worker.stop_lanes()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
