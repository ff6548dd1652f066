"""The studio window: canvas in the middle, prompt panel, history and queue in docks.

The window owns the job queue; `JobControl` hands its jobs to the worker as the backend can
take them. Widgets never touch the engine. What the canvas shows and the image files in and
out are the Workspace's job. File and database work runs as asyncio tasks on the qasync loop
(`tasks`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QVBoxLayout, QWidget

from studio.core.compare import applicable_parameters
from studio.core.errors import ImageError, RequestError, StudioError
from studio.core.features import BackendFeatures
from studio.core.history import HistoryEntry
from studio.core.loras import LoraInfo
from studio.core.model_roots import FoundFolder, find_model_folders
from studio.core.models import ModelInfo
from studio.core.paths import AppPaths
from studio.core.request import GenerationRequest, Mode
from studio.core.settings import Settings
from studio.ui import tasks
from studio.ui.canvas import CanvasView
from studio.ui.compare_view import CompareDialog, CompareItem
from studio.ui.find_models_dialog import FindModelsDialog
from studio.ui.history_strip import HistoryStrip
from studio.ui.image_files import read_image
from studio.ui.job_control import JobControl, describable
from studio.ui.job_queue import JobQueue
from studio.ui.mask_painter import MaskPainter
from studio.ui.mask_tools import MaskTools
from studio.ui.model_list import read_thumbnails
from studio.ui.notice import Notice
from studio.ui.prompt_panel import PromptPanel
from studio.ui.qt_images import qimage_to_pil
from studio.ui.queue_panel import QueuePanel
from studio.ui.session import Autosave, SessionState, SessionStore
from studio.ui.settings_dialog import SettingsDialog
from studio.ui.sight_controller import SightController
from studio.ui.status_bar import RunStatus
from studio.ui.window_actions import build_actions, build_menus
from studio.ui.worker import EngineFactory, WorkerClient, default_engine_factory
from studio.ui.workspace import Workspace

log = logging.getLogger(__name__)
DEFAULT_SIZE = QSize(1360, 860)
BRUSH_STEP = 1.2  # [ and ] scale the brush by this
APP_TITLE = "Snail Studio"
SCANNING = "Looking through model folders\u2026"
SHUTDOWN_WAIT_MS = 5000  # a CPU step can take longer; the app then exits without waiting


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self,
        paths: AppPaths,
        settings: Settings,
        engine_factory: EngineFactory = default_engine_factory,
        find_folders: Callable[[], list[FoundFolder]] = find_model_folders,
    ) -> None:
        super().__init__()
        self._find_folders = find_folders
        self._first_start = not settings.model_folders and not paths.settings_file.exists()
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.paths = paths
        self.settings = settings
        self.queue = JobQueue(self)
        self.client = WorkerClient(engine_factory, settings, paths, self)
        self.painter = MaskPainter(parent=self)
        self.actions_ = build_actions(self, self.painter.undo_stack)
        self._compare: CompareDialog | None = None
        self.engine_stopped = False

        self.canvas = CanvasView()
        self.notice = Notice()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.notice)
        central_layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.panel = PromptPanel(settings)
        a = self.actions_
        tools = MaskTools(
            self.painter, [a.brush, a.eraser], [a.clear_mask, a.invert_mask, a.fill_mask]
        )
        self.panel.set_mask_tools(tools)
        self.workspace = Workspace(self.canvas, self.painter, self.panel)
        self.sight = SightController(
            self,
            self.canvas,
            self.client.worker,
            lambda: self.settings.outputs_folder(self.paths.outputs_dir),
            self._build_request,
            lambda requests: self.jobs.enqueue(requests),
        )
        central_layout.addWidget(self.sight.bar)
        self.history = HistoryStrip(paths.history_db)
        self.queue_panel = QueuePanel(self.queue)
        self._build_docks()
        build_menus(self.menuBar(), a, [self.prompt_dock, self.history_dock, self.queue_dock])
        self.sight.add_menu()
        self.addActions(a.all())  # shortcuts work with the menu bar hidden too

        self.run_status = RunStatus()
        self.statusBar().addPermanentWidget(self.run_status)

        self.store = SessionStore(paths)
        self.autosave = Autosave(self.store, self._session_state, self._save_layout, self)
        self.jobs = JobControl(self)
        self._connect_actions()
        self._connect_widgets()
        self._connect_worker()
        self._restore_layout()
        self._restore_request()
        self._offer_interrupted()

    def _build_docks(self) -> None:
        self.panel_scroll = scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Room for the panel beside a vertical scroll bar: a tall panel (LoRAs, inpaint tools)
        # must not lose its right edge under the bar.
        scroll.setMinimumWidth(
            self.panel.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
        )
        prompt = QWidget()
        prompt_layout = QVBoxLayout(prompt)
        prompt_layout.setContentsMargins(0, 0, 0, 0)
        prompt_layout.setSpacing(0)
        prompt_layout.addWidget(scroll, 1)
        prompt_layout.addWidget(self.panel.button_bar)
        left, bottom = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self.prompt_dock = self._dock("Prompt", "promptDock", prompt, left)
        self.history_dock = self._dock("History", "historyDock", self.history, bottom)
        self.queue_dock = self._dock("Queue", "queueDock", self.queue_panel, bottom)
        self.splitDockWidget(self.history_dock, self.queue_dock, Qt.Orientation.Horizontal)
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        self.resizeDocks([self.prompt_dock], [360], horizontal)
        self.resizeDocks([self.history_dock, self.queue_dock], [900, 300], horizontal)
        self.resizeDocks([self.history_dock], [150], vertical)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState() keys docks by name
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _connect_actions(self) -> None:
        a, ws, painter = self.actions_, self.workspace, self.painter
        a.open.triggered.connect(ws.open_image)
        a.paste.triggered.connect(ws.paste)
        a.save_as.triggered.connect(ws.save_image_as)
        a.settings.triggered.connect(self.edit_settings)
        a.quit.triggered.connect(self.close)
        a.generate.triggered.connect(self.generate)
        a.cancel.triggered.connect(self.jobs.cancel)
        a.clear_queue.triggered.connect(self.queue.clear_waiting)
        a.use_as_input.triggered.connect(ws.use_shown_as_input)
        a.show_input.triggered.connect(ws.show_input)
        a.restore_shown.triggered.connect(ws.restore_shown_parameters)
        a.image_info.triggered.connect(ws.show_image_info)
        a.brush.triggered.connect(lambda: painter.set_eraser(False))
        a.eraser.triggered.connect(lambda: painter.set_eraser(True))
        a.brush_smaller.triggered.connect(lambda: self._scale_brush(1 / BRUSH_STEP))
        a.brush_larger.triggered.connect(lambda: self._scale_brush(BRUSH_STEP))
        a.clear_mask.triggered.connect(painter.clear)
        a.invert_mask.triggered.connect(painter.invert)
        a.fill_mask.triggered.connect(painter.fill)
        a.save_mask.triggered.connect(ws.save_mask)
        a.load_mask.triggered.connect(ws.load_mask)
        a.zoom_fit.triggered.connect(self.canvas.zoom_fit)
        a.zoom_actual.triggered.connect(self.canvas.zoom_actual)
        a.zoom_in.triggered.connect(self.canvas.zoom_in)
        a.zoom_out.triggered.connect(self.canvas.zoom_out)
        painter.eraser_changed.connect(lambda on: (a.eraser if on else a.brush).setChecked(True))

    def _connect_widgets(self) -> None:
        p, h, ws = self.panel, self.history, self.workspace
        p.generate_requested.connect(self.generate)
        p.cancel_requested.connect(self.jobs.cancel)
        p.model_chosen.connect(self.client.load_model)
        p.changed.connect(self.autosave.touch)
        self.painter.changed.connect(lambda: self.autosave.touch(images=True))
        for tool_changed in (
            self.painter.brush_size_changed,
            self.painter.feather_changed,
            self.painter.style.changed,
        ):
            tool_changed.connect(self.autosave.touch)
        ws.input_changed.connect(lambda: self.autosave.touch(images=True))
        ws.title_changed.connect(
            lambda title: self.setWindowTitle(f"{title} \u2013 {APP_TITLE}" if title else APP_TITLE)
        )
        ws.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        ws.error.connect(self.show_error)
        ws.notice.connect(self.notice.show_info)
        self.queue_panel.remove_requested.connect(self.queue.remove)
        self.queue_panel.cancel_requested.connect(self.jobs.cancel)
        h.show_requested.connect(lambda entry: ws.show_file(entry.path))
        h.show_requested.connect(self.sight.entry_shown)
        h.use_as_input_requested.connect(lambda entry: ws.show_file(entry.path, as_input=True))
        h.restore_requested.connect(lambda e: ws.restore_parameters(e.request, e.path.name))
        h.compare_requested.connect(lambda entries: tasks.spawn(self._compare_entries(entries)))
        h.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        h.failed.connect(self.show_error)

    def _connect_worker(self) -> None:
        # Bound methods of objects on this thread: Qt queues each call to the UI thread.
        w = self.client.worker
        w.models_listed.connect(self._models_listed)
        w.features_known.connect(self._features_known)
        w.scan_progress.connect(self._scan_progress)
        w.model_loading.connect(self._model_loading)
        w.load_progress.connect(self.run_status.model_load_progress)
        w.model_loaded.connect(self._model_loaded)
        w.model_failed.connect(self._model_failed)
        w.loras_listed.connect(self._loras_listed)

    def start(self) -> None:
        """After show(): start the worker (the engine, and torch, load there) and background I/O."""
        self.client.start()
        self.client.list_models()
        self.history.refresh()
        tasks.spawn(self._restore_images())
        if self._first_start:
            tasks.spawn(self._offer_found_models())
        self.panel.focus_prompt()

    # -- generating ------------------------------------------------------------------------

    def generate(self) -> None:
        try:
            request = self._build_request()
        except RequestError as exc:
            self.show_error(str(exc))
            return
        self.jobs.enqueue([request])

    def _build_request(self) -> GenerationRequest:
        request = self.panel.request()
        if request.mode.uses_init_image:
            source = self.workspace.input
            if source is None:
                raise RequestError(
                    f"{request.mode.label} needs an input image: "
                    "open (Ctrl+O), paste (Ctrl+V) or drop one on the canvas"
                )
            mask = None
            if request.mode is Mode.INPAINT:
                if self.painter.is_empty():
                    raise RequestError("The mask is empty: paint over the area to repaint first")
                mask = self.painter.to_pil()
            init = qimage_to_pil(source).convert("RGB")
            request = dataclasses.replace(
                request, init_image=init, mask=mask, mask_feather=self.painter.feather
            )
        request.validate()
        return request

    def _scale_brush(self, factor: float) -> None:
        size = self.painter.brush_size
        step = max(1, round(size * abs(factor - 1)))
        self.painter.set_brush_size(size + step if factor > 1 else size - step)

    # -- models ----------------------------------------------------------------------------

    def _features_known(self, features: BackendFeatures) -> None:
        """Show only what the backend can do: a ComfyUI server sends no latents (no step bar,
        no attention maps) and may lack a mode."""
        self.jobs.set_capacity(features.parallel_jobs)
        self.sight.set_features(features)
        self.panel.allow_modes(features.modes)

    def _models_listed(self, models: list[ModelInfo]) -> None:
        self.panel.set_models(models)
        self.run_status.engine_ready(len(models))
        if self.statusBar().currentMessage().startswith(SCANNING):
            self.statusBar().clearMessage()
        tasks.spawn(self._read_thumbnails())
        if not models:
            self.show_error("No models found. Add a model folder in File \u203a Settings.")
            return
        self.client.load_model(self.panel.model_id())

    def _scan_progress(self, done: int, total: int) -> None:
        self.panel.model_list.set_scan_progress(done, total)
        self.statusBar().showMessage(f"{SCANNING} {done} of {total}")

    async def _read_thumbnails(self) -> None:
        """The last image made with each model, for the chooser."""
        models = self.panel.model_list
        try:
            thumbnails = await tasks.in_thread(
                read_thumbnails, self.paths.history_db, models.models
            )
        except StudioError as exc:
            log.warning("no model thumbnails: %s", exc)
            return
        models.set_thumbnails(thumbnails)

    async def _offer_found_models(self) -> None:
        """First start, no model folders yet: offer the folders of other apps, if any."""
        found = await tasks.in_thread(self._find_folders)
        with_models = [f for f in found if f.files]
        if not with_models:
            return
        apps = ", ".join(dict.fromkeys(f.app for f in with_models))
        files = sum(f.files for f in with_models)
        self.notice.offer(
            f"Models of {apps} are on this computer ({files} files). Use them here?",
            "Find My Models\u2026",
            lambda: self.show_found_models(found),
        )

    def show_found_models(self, found: list[FoundFolder]) -> FindModelsDialog:
        dialog = FindModelsDialog(found, self.settings.model_folders, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._add_model_folders(dialog.chosen_folders()))
        dialog.open()
        return dialog

    def _add_model_folders(self, folders: list[str]) -> None:
        if folders:
            folders = [*self.settings.model_folders, *folders]
            self._apply_settings(dataclasses.replace(self.settings, model_folders=folders))

    def _model_loading(self, model: str) -> None:
        info = self.panel.model_info(model)
        self.run_status.model_loading(info.name if info else model)

    def _model_loaded(self, info: ModelInfo) -> None:
        self.run_status.model_ready(info)
        self.panel.show_loaded_model(info)
        self.client.list_loras(info.id)

    def _loras_listed(self, model: str, loras: list[LoraInfo]) -> None:
        if model == self.panel.model_id():
            self.panel.lora_state.set_available(loras)

    def _model_failed(self, message: str) -> None:
        self.run_status.model_failed(message)
        self.show_error(message)

    # -- compare, settings, errors ---------------------------------------------------------

    async def _compare_entries(self, entries: list[HistoryEntry]) -> None:
        try:
            images = [await tasks.in_thread(read_image, e.path) for e in entries]
        except ImageError as exc:
            self.show_error(str(exc))
            return
        items = [
            CompareItem(
                image,
                f"#{e.id} \u00b7 {e.created_at.astimezone():%H:%M:%S}",
                applicable_parameters(e.request),
            )
            for e, image in zip(entries, images, strict=True)
        ]
        if self._compare is None:
            self._compare = CompareDialog(parent=self)
        self._compare.set_items(items)
        self._compare.show()
        self._compare.raise_()

    def edit_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self.paths, self, self._find_folders)
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self._apply_settings(dialog.settings())

    def _apply_settings(self, settings: Settings) -> None:
        """Take new settings: saved, and the engine told (other folders are listed again)."""
        self.settings = self.panel.settings = settings
        try:
            self.settings.save(self.paths.settings_file)
        except OSError as exc:
            self.show_error(f"Could not save the settings: {exc}")
        self.client.configure(self.settings)

    def show_error(self, message: str) -> None:
        """Errors never block: a notice over the canvas and the status bar; the app stays usable."""
        self.notice.show_error(message)
        self.statusBar().showMessage(message, 10_000)

    # -- session ---------------------------------------------------------------------------

    def _offer_interrupted(self) -> None:
        """Jobs that were running when the studio was killed: say so and offer to run them
        again."""
        requests = []
        for data in self.store.take_interrupted():
            try:
                requests.append(GenerationRequest.from_dict(data))
            except (StudioError, TypeError):
                continue
        if not requests:
            return
        first = requests[0]
        prompt = first.prompt if len(first.prompt) <= 60 else first.prompt[:57] + "\u2026"
        what = "A job was" if len(requests) == 1 else f"{len(requests)} jobs were"
        self.notice.offer(
            f"{what} interrupted when the studio last stopped: \u201c{prompt}\u201d "
            f"({first.mode.label}, {first.model}).",
            "Run Again",
            lambda: self._run_again(requests),
        )

    def _run_again(self, requests: list[GenerationRequest]) -> None:
        for request in requests:
            self.workspace.restore_parameters(request, "the interrupted job")
            self.generate()

    def _session_state(self) -> SessionState:
        request = describable(self.panel.request())
        source = self.workspace.input
        mask = self.painter.mask() if source is not None else None
        return SessionState(request, source, mask, self.painter.tool_settings())

    def _restore_request(self) -> None:
        data = self.store.load_request()
        try:
            request = GenerationRequest.from_dict(data) if data else None
        except (StudioError, TypeError):
            request = None
        if request is not None:
            self.panel.set_request(request)

    async def _restore_images(self) -> None:
        """The input and mask, then the mask tools (after: a new input rescales the brush)."""
        source, mask = await tasks.in_thread(self.store.load_images)
        if source is not None and self.workspace.input is None:
            self.workspace.set_input(source, switch_mode=False)
            if mask is not None:
                self.painter.set_mask(mask)
                self.painter.undo_stack.clear()  # restoring is not an edit to undo
        self.painter.restore_tool_settings(self.store.load_mask_tools())

    def _save_layout(self) -> None:
        self.store.save_layout(self.saveGeometry(), self.saveState())

    def _restore_layout(self) -> None:
        saved = self.store.load_layout()
        if saved is None or not self.restoreGeometry(saved[0]):
            # Never larger than the screen it opens on (a laptop, a small virtual screen).
            self.resize(DEFAULT_SIZE.boundedTo(self.screen().availableGeometry().size()))
        if saved is not None:
            self.restoreState(saved[1])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.autosave.flush()
        tasks.cancel_all()
        self.queue.clear_waiting()
        self.queue.cancel_running()
        if self._compare is not None:
            self._compare.close()
        self.engine_stopped = self.client.shutdown(SHUTDOWN_WAIT_MS)
        self.store.save_running([])  # closed on purpose: nothing was interrupted
        super().closeEvent(event)
        self.closed.emit()

    # -- drops outside the canvas (the docks, the status bar) ------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if _local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        files = _local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.workspace.open_file(files[0])


def _local_files(mime: QMimeData) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
