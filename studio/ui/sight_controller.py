"""Wires the ways to see the diffusion into the window: the timeline bar under the canvas,
the See menu (sweeps, the guidance table, the noise lab), and the worker's sight signals.

The window gives it two callables: `build_request` (the request the prompt panel describes,
with the input image) and `enqueue` (queue requests as one group and start the queue).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QImage, QMouseEvent, QTextCursor
from PySide6.QtWidgets import QFileDialog

from studio.core.animations import writable_suffixes
from studio.core.errors import ImageError, RequestError
from studio.core.features import BackendFeatures
from studio.core.history import HistoryEntry
from studio.core.request import MAX_SEED, GenerationRequest
from studio.core.sweep import Sweep, guidance_table
from studio.core.sweep_grid import render_grid, save_grid
from studio.ui import tasks
from studio.ui.canvas import CanvasView
from studio.ui.compare_view import CompareDialog, CompareItem
from studio.ui.image_files import OPEN_FILTER, read_image
from studio.ui.job_queue import Job
from studio.ui.qt_images import pil_to_qimage, qimage_to_pil
from studio.ui.sight_worker import SightClient
from studio.ui.sweep_dialog import SweepDialog
from studio.ui.timeline_bar import TimelineBar
from studio.ui.worker import EngineWorker, FinishedJob

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow
    from studio.ui.noise_lab_dialog import NoiseLabDialog

ANIMATION_FILTERS = {
    ".webp": "Animated WebP (*.webp)",
    ".gif": "GIF (*.gif)",
    ".mp4": "MP4 video (*.mp4)",
}


class SightController(QObject):
    def __init__(
        self,
        window: MainWindow,
        canvas: CanvasView,
        worker: EngineWorker,
        outputs_dir: Callable[[], Path],
        build_request: Callable[[], GenerationRequest],
        enqueue: Callable[[list[GenerationRequest]], list[Job]],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.canvas = canvas
        self.outputs_dir = outputs_dir
        self.build_request = build_request
        self.enqueue = enqueue
        self.bar = TimelineBar()
        self.client = SightClient(worker.sight, self)
        self.noise_lab: NoiseLabDialog | None = None
        self.compare: CompareDialog | None = None
        self._sweep: Sweep | None = None
        self._sweep_jobs: dict[int, int] = {}  # job id -> cell index
        # cell index -> the finished job's first image, in memory (PIL for the grid, QImage
        # for the compare view): nothing is read back from disk
        self._sweep_cells: dict[int, tuple[Image.Image, QImage]] = {}
        self._run_of: dict[Path, int] = {}  # a saved image -> the job (run) that made it
        self._latent_actions: list[QAction] = []  # hidden when the backend sends no latents

        # Worker signals go to bound methods of objects on this thread, which Qt queues to
        # it; a lambda would run on the worker thread.
        bar, sight = self.bar, worker.sight
        worker.started.connect(bar.run_started)
        worker.step_previews.connect(bar.add_step)
        worker.finished.connect(self._job_finished)
        worker.failed.connect(self._job_failed)
        worker.cancelled.connect(self._job_cancelled)
        bar.frame_chosen.connect(self._show_frame)
        bar.result_chosen.connect(canvas.clear_preview)
        bar.decode_requested.connect(self.client.decode_step)
        bar.export_requested.connect(self._export)
        bar.attention_toggled.connect(self.client.set_record_attention)
        bar.attention_step_requested.connect(self.client.attention_at)
        sight.run_kept.connect(self._run_kept)
        sight.runs_kept.connect(self._runs_kept)
        sight.step_decoded.connect(self._step_decoded)
        sight.timeline_exported.connect(self._exported)
        sight.attention_ready.connect(bar.set_words)
        sight.noise_lab_opened.connect(self._lab_opened)
        sight.noise_frame.connect(self._lab_frame)
        sight.denoise_ready.connect(self._denoise_ready)
        sight.failed.connect(self._error)
        # A click on a word of the prompt shows that word's attention map, once there is one.
        window.panel.prompt.viewport().installEventFilter(self)

    def add_menu(self) -> None:
        menu = self.window.menuBar().addMenu("&See")
        for text, slot, needs_latents in (
            ("&Sweep\u2026", self.open_sweep_dialog, False),
            ("&Guidance table", self.queue_guidance_table, False),
            ("&Noise lab on the shown image\u2026", self.open_noise_lab, True),
            ("Noise lab on a &file\u2026", self.open_noise_lab_file, True),
        ):
            action = QAction(text, self.window)
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
            menu.addAction(action)
            if needs_latents:
                self._latent_actions.append(action)
        noisy = QAction("Show noisy latents (x\u209c)", self.window)
        noisy.setCheckable(True)
        noisy.toggled.connect(self.bar.noisy.setChecked)
        self.bar.noisy.toggled.connect(noisy.setChecked)
        menu.addAction(noisy)
        self._latent_actions.append(noisy)

    def set_features(self, features: BackendFeatures) -> None:
        """Offer only what the backend can show: a ComfyUI server sends no latents (no
        timeline, noise lab or attention)."""
        self.bar.setVisible(features.step_latents)
        self.bar.attention.setVisible(features.attention_maps)
        for action in self._latent_actions:
            action.setVisible(features.step_latents)

    # -- timeline --------------------------------------------------------------------------

    def _show_frame(self, image: QImage) -> None:
        size = self.canvas.content_size()
        target = size if size.isValid() and not size.isEmpty() else image.size()
        self.canvas.show_preview(image, target)

    def _step_decoded(self, step: int, kind: str, image: QImage) -> None:
        self._show_frame(image)
        self._message(f"Step {step} ({kind}) decoded with the VAE")

    def _exported(self, path: str) -> None:
        self._message(f"Timeline written: {path}")

    def _run_kept(self, job_id: int, steps: int) -> None:
        self.bar.run_ended(job_id, kept=steps > 0)

    def _runs_kept(self, job_ids: list[int]) -> None:
        self.bar.keep_only(job_ids)
        self._run_of = {path: job for path, job in self._run_of.items() if job in job_ids}

    def entry_shown(self, entry: HistoryEntry) -> None:
        """The timeline follows the image on the canvas: its run's steps, while kept."""
        self.bar.show_run(self._run_of.get(entry.path))

    def _job_failed(self, job_id: int, _message: str) -> None:
        if self._sweep_jobs.pop(job_id, None) is not None:
            self._sweep_jobs.clear()
            self._error("A job of the sweep failed; the grid was not made")

    def _job_cancelled(self, job_id: int) -> None:
        if self._sweep_jobs.pop(job_id, None) is not None:
            self._sweep_jobs.clear()
            self._message("Sweep cancelled; the grid was not made")

    def _export(self, job_id: int, kind: str) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export timeline", f"timeline-{kind}.webp", animation_filter()
        )
        if path:
            self.client.export_timeline(job_id, Path(path), kind)

    def _job_finished(self, job_id: int, finished: FinishedJob) -> None:
        for entry in finished.outcome.entries:
            self._run_of[entry.path] = job_id
        if job_id in self._sweep_jobs and finished.images:
            cell = (finished.outcome.images[0], finished.images[0])
            self._sweep_cells[self._sweep_jobs.pop(job_id)] = cell
            if not self._sweep_jobs:
                tasks.spawn(self._finish_sweep())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
            self._prompt_clicked(event)
        return False  # the prompt box still gets every click

    def _prompt_clicked(self, event: QMouseEvent) -> None:
        prompt = self.window.panel.prompt
        if not self.bar.word_names() or prompt.textCursor().hasSelection():
            return
        cursor = prompt.cursorForPosition(event.position().toPoint())
        cursor.select(QTextCursor.SelectionType.WordUnderCursor)
        word = cursor.selectedText()
        before = prompt.toPlainText()[: cursor.selectionStart()]
        occurrence = len(re.findall(rf"\b{re.escape(word)}\b", before, re.IGNORECASE))
        overlay = self.bar.word_map(word, occurrence)
        if overlay is not None:
            self._show_frame(overlay)
            self._message(f"Attention of \u201c{word}\u201d in the last run")

    # -- sweeps ----------------------------------------------------------------------------

    def open_sweep_dialog(self) -> None:
        base = self._base_request()
        if base is None:
            return
        dialog = SweepDialog(base, self.window)
        if dialog.exec() == SweepDialog.DialogCode.Accepted:
            self.queue_sweep(dialog.sweep())

    def queue_guidance_table(self) -> None:
        base = self._base_request()
        if base is not None:
            self.queue_sweep(guidance_table(base))

    def queue_sweep(self, sweep: Sweep) -> None:
        sweep = sweep.with_seed(random.randint(0, MAX_SEED))
        try:
            sweep.validate()
        except RequestError as exc:
            self._error(str(exc))
            return
        self._sweep, self._sweep_cells = sweep, {}
        jobs = self.enqueue([cell.request for cell in sweep.cells()])
        self._sweep_jobs = {job.id: index for index, job in enumerate(jobs)}
        self._message(f"Sweep queued: {len(jobs)} images")

    async def _finish_sweep(self) -> None:
        sweep = self._sweep
        if sweep is None:
            return
        cells = [self._sweep_cells[i] for i in range(len(sweep.cells()))]
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.outputs_dir() / f"sweep-{stamp}.png"
        try:
            grid = await tasks.in_thread(_make_grid, sweep, [image for image, _ in cells], target)
        except (OSError, ValueError) as exc:
            self._error(f"Could not make the sweep's grid: {exc}")
            return
        self._show_sweep(sweep, [shown for _, shown in cells], grid, target)

    def _show_sweep(
        self, sweep: Sweep, shown: list[QImage], grid: Image.Image, target: Path
    ) -> None:
        labels = [
            " \u00b7 ".join(
                filter(None, (sweep.column_labels()[c.column], sweep.row_labels()[c.row]))
            )
            for c in sweep.cells()
        ]
        items = [CompareItem(image, label) for image, label in zip(shown, labels, strict=True)]
        if self.compare is None:
            self.compare = CompareDialog(parent=self.window)
        self.compare.set_items(items)
        self.compare.show()
        self.canvas.set_image(pil_to_qimage(grid))
        self._message(f"Sweep grid saved: {target}")

    # -- noise lab -------------------------------------------------------------------------

    def open_noise_lab(self, image: QImage | None = None, name: str = "") -> None:
        source = image if image is not None else self.canvas.image()
        base = self._base_request()
        if source is None or base is None:
            self._error("Show or open an image first: the noise lab noises the shown image")
            return
        # matplotlib (the lab's plots) takes a quarter of a second to import: on first use,
        # not at the window's start.
        from studio.ui.noise_lab_dialog import NoiseLabDialog

        self.noise_lab = NoiseLabDialog(name or "shown image", self.window)
        self.noise_lab.timestep_changed.connect(self.client.noise_at)
        self.noise_lab.denoise_requested.connect(
            lambda t: self.client.denoise_from(self._base_request() or base, t)
        )
        self.noise_lab.show()
        seed = base.seed if base.seed is not None else 0
        self.client.open_noise_lab(base.model, qimage_to_pil(source).convert("RGB"), seed)

    def open_noise_lab_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Noise lab on", "", OPEN_FILTER)
        if path:
            tasks.spawn(self._open_lab_file(Path(path)))

    async def _open_lab_file(self, path: Path) -> None:
        try:
            image = await tasks.in_thread(read_image, path)
        except ImageError as exc:
            self._error(str(exc))
            return
        self.open_noise_lab(image, path.name)

    def _lab_opened(self, curves: dict) -> None:
        if self.noise_lab is not None:
            self.noise_lab.set_curves(curves)

    def _lab_frame(self, timestep: int, image: QImage) -> None:
        if self.noise_lab is not None:
            self.noise_lab.show_frame(timestep, image)

    def _denoise_ready(self, request: GenerationRequest) -> None:
        self.enqueue([request])
        self._message(f"Denoising from here: img2img at strength {request.strength:g}")

    # -- helpers ---------------------------------------------------------------------------

    def _base_request(self) -> GenerationRequest | None:
        try:
            return self.build_request()
        except RequestError as exc:
            self._error(str(exc))
            return None

    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

    def _error(self, text: str) -> None:
        self.window.show_error(text)


def animation_filter() -> str:
    """The Export dialog's file types: MP4 only where PyAV can write it."""
    return ";;".join(ANIMATION_FILTERS[suffix] for suffix in writable_suffixes())


def _make_grid(sweep: Sweep, images: list[Image.Image], target: Path) -> Image.Image:
    grid = render_grid(sweep, [image.convert("RGB") for image in images])
    save_grid(grid, target, sweep)
    return grid
