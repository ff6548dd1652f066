"""What the canvas shows, and the images the user brings in or takes out.

Two images matter: the *input* (img2img and inpaint start from it; the mask is painted on it
and always has its size) and the *shown* image (a result or a file, drawn without the mask).
During a run the canvas shows each step's preview stretched over the result's size. File
reads and writes run in the executor; errors and notes go out as signals for the window.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from studio.core.errors import ImageError
from studio.core.request import GenerationRequest, Mode
from studio.ui import tasks
from studio.ui.canvas import CanvasView
from studio.ui.image_files import OPEN_FILTER, read_image, read_image_and_info, read_parameters
from studio.ui.image_info_dialog import ImportChoice, ask_import
from studio.ui.mask_painter import MaskPainter
from studio.ui.prompt_panel import PromptPanel

PLACEHOLDER = "Type a prompt and press Ctrl+Enter\nor drop an image here to work on it"
NEEDS_INPUT = "Open (Ctrl+O), paste (Ctrl+V) or drop an input image"


class Workspace(QObject):
    input_changed = Signal()
    title_changed = Signal(str)
    message = Signal(str)  # a note for the status bar
    notice = Signal(str)  # a note the user must not miss, shown over the canvas
    error = Signal(str)

    def __init__(self, canvas: CanvasView, painter: MaskPainter, panel: PromptPanel) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.painter = painter
        self.panel = panel
        self.input: QImage | None = None
        self.shown: QImage | None = None
        self.shown_path: Path | None = None
        self.input_path: Path | None = None  # the file the input came from, if any
        self.choose_import = ask_import  # tests answer for the user
        self.showing_input = False
        self._preview_job: int | None = None
        canvas.set_placeholder_text(PLACEHOLDER)
        canvas.image_dropped.connect(lambda path: self.open_file(Path(path)))
        panel.mode_changed.connect(self._mode_changed)

    # -- showing ---------------------------------------------------------------------------

    def show_image(self, image: QImage, path: Path | None = None) -> None:
        """Show a result or file (not the input): no mask overlay."""
        self.shown, self.shown_path = image, path
        self.showing_input = False
        self.canvas.set_mask_painter(None)
        self.canvas.set_image(image)
        self.title_changed.emit(path.name if path else "")

    def show_input(self) -> None:
        if self.input is None:
            self.message.emit("No input image yet")
            return
        self.showing_input = True
        self.canvas.set_image(self.input)
        self.canvas.set_mask_painter(self.painter)
        self._show_mask(self.panel.mode())
        self.title_changed.emit("Input image")

    def set_input(self, image: QImage, switch_mode: bool = True, path: Path | None = None) -> None:
        """Make `image` (read from `path`, if a file) the input; the mask follows its size."""
        previous = self.input
        self.input = image.convertToFormat(QImage.Format.Format_RGB888)
        self.input_path = path
        if self.painter.size() != self.input.size():
            self.painter.resize_to(self.input.size())
        elif previous is not None and previous != self.input and not self.painter.is_empty():
            # A mask belongs to the picture it was painted on; undo brings it back for this one.
            self.painter.clear()
            self.notice.emit("The mask was cleared for the new input image; Ctrl+Z brings it back")
        self.panel.set_input_image(self.input)
        if switch_mode and self.panel.mode() is Mode.TXT2IMG:
            self.panel.set_mode(Mode.IMG2IMG)
        self.show_input()
        self.input_changed.emit()

    def use_shown_as_input(self) -> None:
        image = None if self.showing_input else self.canvas.image()
        if image is None:
            self.message.emit("Show a result first, then use it as input")
            return
        self.set_input(image, path=self.shown_path)
        self.message.emit("The shown image is now the input image")

    def _mode_changed(self, mode: Mode) -> None:
        if mode is Mode.INPAINT and self.input is not None:
            self.show_input()
        self._show_mask(mode)
        needs_input = mode.uses_init_image and self.input is None
        self.canvas.set_placeholder_text(NEEDS_INPUT if needs_input else PLACEHOLDER)

    def _show_mask(self, mode: Mode) -> None:
        """The mask only matters to inpaint: elsewhere it is neither drawn nor painted."""
        inpaint = mode is Mode.INPAINT
        self.canvas.set_mask_visible(inpaint)
        self.canvas.set_mask_editing(inpaint and self.showing_input)

    # -- runs ------------------------------------------------------------------------------

    def show_preview(self, job_id: int, preview: QImage, target: QSize) -> None:
        """Stretch a step preview over the result's size; what was shown stays if it fits."""
        if self.canvas.content_size() != target:
            self.canvas.set_mask_painter(None)
            self.canvas.set_image(None)
            self.showing_input = False
        self.canvas.show_preview(preview, target)
        self._preview_job = job_id

    def show_result(self, job_id: int, image: QImage, path: Path, seed: int) -> None:
        """A finished job's first image, saved at `path`, made with `seed`."""
        self.panel.show_used_seed(seed)
        if self._preview_job not in (None, job_id):
            self.shown, self.shown_path = image, path  # the next job's previews are showing
            return
        self.show_image(image, path)

    def run_ended(self, job_id: int, succeeded: bool) -> None:
        """A failed or cancelled run puts back what was shown before its previews (another
        job's previews, from a job running beside it on another server, stay)."""
        if self._preview_job not in (None, job_id):
            return
        self._preview_job = None
        if succeeded or not self.canvas.has_preview():
            return
        if self.showing_input or (self.shown is None and self.input is not None):
            self.show_input()
        elif self.shown is not None:
            self.show_image(self.shown, self.shown_path)
        else:
            self.canvas.set_image(None)

    # -- files in --------------------------------------------------------------------------

    def open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._parent(), "Open image", "", OPEN_FILTER)
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path, always_ask: bool = False) -> None:
        tasks.spawn(self._open_file(path, always_ask))

    async def _open_file(self, path: Path, always_ask: bool) -> None:
        """Open, drop and paste alike: an image with parameters asks what to take from it."""
        try:
            image, info = await tasks.in_thread(read_image_and_info, path)
        except ImageError as exc:
            self.error.emit(str(exc))
            return
        if info.request is None and not always_ask:
            choice: ImportChoice | None = ImportChoice.INPUT
        else:
            choice = self.choose_import(self._parent(), path.name, info, image)
        if choice in (ImportChoice.PARAMETERS, ImportChoice.BOTH):
            request = info.request
            if choice is ImportChoice.BOTH:
                request = dataclasses.replace(request, mode=self.panel.mode())
            self.restore_parameters(request, path.name, info.notes, info.model_hash)
        if choice is ImportChoice.INPUT:
            self.set_input(image, path=path)
            self.message.emit(f"Input image: {path.name}")
        elif choice is ImportChoice.BOTH:
            self.set_input(image, switch_mode=False, path=path)

    def show_image_info(self) -> None:
        """The "PNG info" view of the shown image's file, else of a file the user picks."""
        path = self._shown_file()
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self._parent(), "Image info", "", OPEN_FILTER)
            if not chosen:
                return
            path = Path(chosen)
        self.open_file(path, always_ask=True)

    def show_file(self, path: Path, as_input: bool = False) -> None:
        tasks.spawn(self._show_file(path, as_input))

    async def _show_file(self, path: Path, as_input: bool) -> None:
        try:
            image = await tasks.in_thread(read_image, path)
        except ImageError as exc:
            self.error.emit(str(exc))
            return
        if as_input:
            self.set_input(image, path=path)
        else:
            self.show_image(image, path)

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.set_input(image)
                self.message.emit("Pasted image is the input image")
                return
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile():
                self.open_file(Path(url.toLocalFile()))
                return
        self.message.emit("The clipboard holds no image")

    def restore_parameters(
        self,
        request: GenerationRequest,
        source: str,
        notes: list[str] | None = None,
        model_hash: str = "",
    ) -> None:
        notes = [*(notes or []), *self.panel.set_request(request, model_hash)]
        if request.seed is not None:
            notes.append(f"seed {request.seed} is locked: unlock it for new images")
        text = f"Restored parameters from {source}"
        self.message.emit(f"{text} ({'; '.join(notes)})" if notes else text)

    def _shown_file(self) -> Path | None:
        return self.input_path if self.showing_input else self.shown_path

    def restore_shown_parameters(self) -> None:
        path = self._shown_file()
        if path is None:
            self.message.emit("The shown image has no saved parameters")
            return
        tasks.spawn(self._restore_from_file(path))

    async def _restore_from_file(self, path: Path) -> None:
        info = await tasks.in_thread(read_parameters, path)
        if info is None or info.request is None:
            self.error.emit(f"{path.name} holds no generation parameters")
            return
        self.restore_parameters(info.request, path.name, info.notes, info.model_hash)

    # -- files out -------------------------------------------------------------------------

    def save_image_as(self) -> None:
        image = self.canvas.image()
        if image is None:
            self.message.emit("Nothing to save yet")
            return
        source = None if self.showing_input else self.shown_path
        suggested = source.name if source else "image.png"
        target, _ = QFileDialog.getSaveFileName(
            self._parent(), "Save image", suggested, "PNG (*.png)"
        )
        if target:
            tasks.spawn(self._save_image(image, source, Path(target).with_suffix(".png")))

    async def _save_image(self, image: QImage, source: Path | None, target: Path) -> None:
        """A generated PNG is copied byte for byte, which keeps its metadata."""
        try:
            if source is not None and source.suffix.lower() == ".png" and source.exists():
                await tasks.in_thread(shutil.copyfile, source, target)
            elif not await tasks.in_thread(image.copy().save, str(target), "PNG"):
                raise OSError(f"cannot write {target}")
        except OSError as exc:
            self.error.emit(f"Could not save the image: {exc}")
            return
        self.message.emit(f"Saved {target}")

    def save_mask(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._parent(), "Save mask", "mask.png", "PNG (*.png)"
        )
        if path:
            try:
                self.painter.save(Path(path).with_suffix(".png"))
            except ImageError as exc:
                self.error.emit(str(exc))

    def load_mask(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._parent(), "Load mask", "", OPEN_FILTER)
        if not path:
            return
        try:
            self.painter.load(Path(path))
        except ImageError as exc:
            self.error.emit(str(exc))
            return
        self.panel.set_mode(Mode.INPAINT)

    def _parent(self) -> QWidget:
        return self.canvas.window()
