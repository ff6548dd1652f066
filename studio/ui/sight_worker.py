"""The worker thread's side of seeing the diffusion: the last runs' timelines (by job id), the
last run's attention, and the noise lab. A child of `EngineWorker`, so it lives on the worker
thread too; its slots are called through queued signals (`SightClient`), and it answers with
signals.

The engine's sight modules (torch) are imported here, on the worker thread, when first used.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage

from studio.core.protocol import EngineProtocol
from studio.core.request import GenerationRequest
from studio.core.results import GenerationResult
from studio.ui.qt_images import pil_to_qimage

log = logging.getLogger(__name__)

CLEAN, NOISY = "x0", "xt"


class SightWorker(QObject):
    run_kept = Signal(int, int)  # job id, steps of its run kept for decoding (0: none)
    runs_kept = Signal(list)  # the job ids whose runs are kept, oldest first
    step_decoded = Signal(int, str, QImage)  # step, CLEAN or NOISY, full-quality image
    timeline_exported = Signal(str)  # path
    # [(word, QImage overlay)] for the last run's first image, and the step (0: all steps)
    attention_ready = Signal(list, int)
    # {"timesteps", "signal", "snr"} lists and the names "signal_name", "signal_label"
    noise_lab_opened = Signal(object)
    noise_frame = Signal(int, QImage)  # timestep, the image noised to it
    denoise_ready = Signal(object)  # GenerationRequest: img2img from the shown noise
    failed = Signal(str)

    def __init__(self, engine: Callable[[], EngineProtocol], parent: QObject | None = None):
        super().__init__(parent)
        self._engine = engine
        self.record_attention = False  # set from the UI thread; read once per run
        self._runs: Any = None  # RecentRuns, once a real engine ran
        self._attention: Any = None
        self._attention_source: tuple[Image.Image, str] | None = None
        self._lab: Any = None
        self._lab_image: Image.Image | None = None

    # -- hooks for EngineWorker ------------------------------------------------------------

    def release(self) -> None:
        """Drop what holds the resident pipeline (the kept run, the lab), so that switching
        models really frees the old one."""
        if self._runs is not None:
            self._runs = None
            self.runs_kept.emit([])
        self._attention = self._attention_source = None
        self._lab = self._lab_image = None

    def observers_for_run(self, job_id: int) -> list[Any]:
        """A timeline (and attention when asked) for the real engine; none for another
        engine (a test's fake), which has no latents, and then torch is never imported."""
        if not _is_real_engine(self._engine()):
            return []
        from studio.engine.attention import AttentionRecorder
        from studio.engine.recent_runs import RecentRuns

        self._runs = self._runs or RecentRuns()
        self._attention = AttentionRecorder() if self.record_attention else None
        return [self._runs.start(job_id)] + ([self._attention] if self._attention else [])

    def run_ended(self, job_id: int, result: GenerationResult | None) -> None:
        """The job's run is kept when it made `result`; a failed or cancelled one is not."""
        kept = 0
        if self._runs is not None:
            if result is None:
                self._runs.drop(job_id)
            else:
                self._runs.finish(job_id)
            kept = len(self._runs.get(job_id).steps) if job_id in self._runs else 0
            self.runs_kept.emit(self._runs.keys())
        self.run_kept.emit(job_id, kept)
        if result is None:
            return
        if self._attention is None or not self._attention.steps:
            self._attention_source = None
            return
        self._attention_source = (result.images[0], result.request.prompt)
        self.attention_at(0)

    @Slot(int)
    def attention_at(self, step: int) -> None:
        """The last run's word maps over its image: of one step, or of all (step 0)."""
        if self._attention is None or self._attention_source is None:
            return
        if step and step not in self._attention.steps:
            return
        from studio.engine.attention import overlay

        image, prompt = self._attention_source
        words = [
            (word.word, pil_to_qimage(overlay(image, word.heat)))
            for word in self._attention.word_maps(prompt, step or None)
        ]
        self.attention_ready.emit(words, step)

    # -- timeline --------------------------------------------------------------------------

    @Slot(int, int, str)
    def decode_step(self, job_id: int, step: int, which: str) -> None:
        try:
            from studio.engine.timeline import Latent

            image = self._kept_timeline(job_id).decode(step, Latent(which))
        except Exception as exc:
            self._fail("decode the step", exc)
            return
        self.step_decoded.emit(step, which, pil_to_qimage(image))

    @Slot(int, str, str)
    def export_timeline(self, job_id: int, path: str, which: str) -> None:
        try:
            from studio.engine.timeline import Latent

            written = self._kept_timeline(job_id).export(Path(path), Latent(which))
        except Exception as exc:
            self._fail("export the timeline", exc)
            return
        self.timeline_exported.emit(str(written))

    def _kept_timeline(self, job_id: int) -> Any:
        if self._runs is None:
            raise RuntimeError("no run has been kept yet")
        return self._runs.get(job_id)

    # -- noise lab -------------------------------------------------------------------------

    @Slot(str, object, int)
    def open_noise_lab(self, model: str, image: Image.Image, seed: int) -> None:
        try:
            from studio.engine.noise_lab import open_lab

            self._lab = open_lab(self._engine(), model, image, seed)
            self._lab_image = image
            curves = self._lab.curves()
        except Exception as exc:
            self._fail("open the noise lab", exc)
            return
        self.noise_lab_opened.emit(
            {
                "timesteps": curves.timesteps.tolist(),
                "signal": curves.signal.tolist(),
                "snr": curves.snr.tolist(),
                "signal_name": curves.signal_name,
                "signal_label": curves.signal_label,
            }
        )

    @Slot(int)
    def noise_at(self, timestep: int) -> None:
        if self._lab is None:
            return
        try:
            image = self._lab.image_at(timestep)
        except Exception as exc:
            self._fail("noise the image", exc)
            return
        self.noise_frame.emit(timestep, pil_to_qimage(image))

    @Slot(object, int)
    def denoise_from(self, base: GenerationRequest, timestep: int) -> None:
        if self._lab is None:
            return
        try:
            request = self._lab.img2img_request(base, self._lab_image, timestep)
        except Exception as exc:
            self._fail("prepare the denoising", exc)
            return
        self.denoise_ready.emit(request)

    def _fail(self, what: str, exc: Exception) -> None:
        log.exception("could not %s", what)
        self.failed.emit(f"Could not {what}: {exc}")


def _is_real_engine(engine: EngineProtocol) -> bool:
    module = sys.modules.get("studio.engine.engine")  # loaded once a real engine exists
    return module is not None and isinstance(engine, module.Engine)


class SightClient(QObject):
    """UI-thread handle: queued calls into the worker's `SightWorker`."""

    _decode = Signal(int, int, str)
    _export = Signal(int, str, str)
    _open_lab = Signal(str, object, int)
    _noise_at = Signal(int)
    _denoise = Signal(object, int)
    _attention_at = Signal(int)

    def __init__(self, worker: SightWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        queued = Qt.ConnectionType.QueuedConnection  # always on the worker's thread
        self._decode.connect(worker.decode_step, queued)
        self._export.connect(worker.export_timeline, queued)
        self._open_lab.connect(worker.open_noise_lab, queued)
        self._noise_at.connect(worker.noise_at, queued)
        self._denoise.connect(worker.denoise_from, queued)
        self._attention_at.connect(worker.attention_at, queued)

    def set_record_attention(self, on: bool) -> None:
        self.worker.record_attention = on

    def decode_step(self, job_id: int, step: int, which: str) -> None:
        self._decode.emit(job_id, step, which)

    def attention_at(self, step: int) -> None:
        self._attention_at.emit(step)

    def export_timeline(self, job_id: int, path: Path, which: str) -> None:
        self._export.emit(job_id, str(path), which)

    def open_noise_lab(self, model: str, image: Image.Image, seed: int) -> None:
        self._open_lab.emit(model, image, seed)

    def noise_at(self, timestep: int) -> None:
        self._noise_at.emit(timestep)

    def denoise_from(self, base: GenerationRequest, timestep: int) -> None:
        self._denoise.emit(base, timestep)
