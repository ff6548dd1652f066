"""The queue panel: the running jobs with their progress and where they run, and each waiting
job with a remove button."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.job_queue import Job, JobQueue

JOB_ROLE = Qt.ItemDataRole.UserRole


class _ElidedLabel(QLabel):
    """One line that ends in "…" when the panel is too narrow, instead of scrolling."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._full = text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        self._full = text
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        super().setText(metrics.elidedText(self._full, Qt.TextElideMode.ElideRight, self.width()))


class _JobRow(QWidget):
    def __init__(
        self, job: Job, state: str, removable: bool, on_remove: Callable[[int], None]
    ) -> None:
        super().__init__()
        self.title = _ElidedLabel(job.title)
        self.title.setToolTip(job.request.prompt)
        self.detail = _ElidedLabel(f"{state} · {job.summary}")
        self.detail.setObjectName("caption")
        self.detail.setToolTip(job.summary)  # the whole line, when a narrow panel elides it
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addWidget(self.title)
        text.addWidget(self.detail)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 4, 3)
        layout.addLayout(text, 1)
        if removable:
            self.remove = QToolButton(text="\u2715")
            self.remove.setObjectName("removeJob")
            self.remove.setToolTip("Remove from the queue (Delete)")
            self.remove.setAutoRaise(True)
            self.remove.clicked.connect(lambda: on_remove(job.id))
            layout.addWidget(self.remove)


class QueuePanel(QWidget):
    remove_requested = Signal(int)  # a waiting job's id
    cancel_requested = Signal()

    def __init__(self, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self._steps: dict[int, str] = {}  # running job id -> "step 4/20 on gpu-box"
        self.list = QListWidget()
        self.list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.empty = QLabel("Nothing queued. Generate while a job runs to queue more.")
        self.empty.setObjectName("caption")
        self.empty.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel Running")
        self.cancel_button.setToolTip("Stop the running jobs (Esc)")
        self.clear_button = QPushButton("Clear Waiting")
        self.clear_button.setToolTip("Remove every job that has not started")
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._remove_selected)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.clear_button.clicked.connect(queue.clear_waiting)
        queue.changed.connect(self._rebuild)
        self._rebuild()

    def set_step(self, job_id: int, text: str, workers: tuple[str, ...] = ()) -> None:
        """Progress of a running job, e.g. "step 4/20", and the servers running it."""
        self._steps[job_id] = f"{text} on {', '.join(workers)}" if workers else text
        for index, job in enumerate(self._queue.running_jobs):
            row = self._row(index)
            if job.id == job_id and row is not None:
                row.detail.setText(f"{self._running_state(job)} · {job.summary}")

    def _running_state(self, job: Job) -> str:
        if job.cancel.is_set():
            return "Cancelling…"
        return f"Running {self._steps.get(job.id, '')}".strip()

    def _rebuild(self) -> None:
        self.list.clear()
        running = self._queue.running_jobs
        self._steps = {job.id: self._steps[job.id] for job in running if job.id in self._steps}
        for job in running:
            self._add(job, self._running_state(job), removable=False)
        for position, job in enumerate(self._queue.waiting, start=1):
            self._add(job, f"Waiting #{position}", removable=True)
        self.empty.setVisible(self.list.count() == 0)
        self.list.setVisible(self.list.count() > 0)
        self.cancel_button.setEnabled(any(not job.cancel.is_set() for job in running))
        self.clear_button.setEnabled(bool(self._queue.waiting))

    def _add(self, job: Job, state: str, removable: bool) -> None:
        row = _JobRow(job, state, removable, self.remove_requested.emit)
        item = QListWidgetItem()
        item.setData(JOB_ROLE, job.id)
        item.setSizeHint(row.sizeHint())
        self.list.addItem(item)
        self.list.setItemWidget(item, row)

    def _row(self, index: int) -> _JobRow | None:
        item = self.list.item(index)
        return self.list.itemWidget(item) if item is not None else None

    def _remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.remove_requested.emit(item.data(JOB_ROLE))
