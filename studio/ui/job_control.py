"""The queue wired to the worker: jobs start as the backend can take them (one at a time on
this machine, one a server on ComfyUI servers), and their progress, previews and endings
reach the window.

The first running job is the one the window shows (status bar progress, canvas previews);
every running job shows its step, and the server running it, in the queue panel. The running
jobs are noted on disk, so a kill cannot lose them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSize
from PySide6.QtGui import QImage

from studio.core.request import GenerationRequest
from studio.core.results import StepUpdate
from studio.ui.job_queue import Job
from studio.ui.worker import FinishedJob

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class JobControl(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.queue = window.queue
        # Bound methods of an object on this thread: Qt queues each call to the UI thread.
        worker = window.client.worker
        worker.started.connect(self._started)
        worker.progress.connect(self._progress)
        worker.preview.connect(self._preview)
        worker.finished.connect(self._finished)
        worker.failed.connect(self._failed)
        worker.cancelled.connect(self._cancelled)
        self.queue.changed.connect(self._queue_changed)
        self._queue_changed()

    def enqueue(self, requests: list[GenerationRequest]) -> list[Job]:
        """Queue requests as one group, in order, and start the queue if it has room."""
        jobs = [self.queue.add(request) for request in requests]
        self.pump()
        return jobs

    def cancel(self) -> None:
        if self.queue.cancel_running():
            self.window.statusBar().showMessage("Cancelling\u2026")

    def set_capacity(self, parallel_jobs: int) -> None:
        """How many jobs the backend runs at once."""
        self.queue.capacity = parallel_jobs
        self.pump()

    def pump(self) -> None:
        while (job := self.queue.start_next()) is not None:
            self.window.client.submit(job)

    def shown_job_id(self) -> int | None:
        """The job whose progress and previews the window shows: the first running one."""
        job = self.queue.running
        return job.id if job is not None else None

    def note_running(self) -> None:
        """Note the running jobs, so that a kill cannot lose them."""
        requests = [describable(job.request) for job in self.queue.running_jobs]
        try:
            self.window.store.save_running(requests)
        except OSError as exc:
            log.warning("could not note the running jobs: %s", exc)

    # -- the worker's signals --------------------------------------------------------------

    def _queue_changed(self) -> None:
        running = self.queue.running is not None
        self.window.panel.set_running(running)
        self.window.actions_.cancel.setEnabled(running)

    def _started(self, job_id: int) -> None:
        self.note_running()
        if job_id != self.shown_job_id():
            return
        self.window.run_status.job_started()
        self.window.statusBar().clearMessage()

    def _progress(self, job_id: int, update: StepUpdate) -> None:
        job = self.queue.get(job_id)
        if job is None:
            return
        text = job.step_text(update.step, update.total)
        self.window.queue_panel.set_step(job_id, text, update.workers)
        if job_id == self.shown_job_id():
            self.window.run_status.step(update, text)

    def _preview(self, job_id: int, image: QImage) -> None:
        job = self.queue.get(job_id)
        if job is None or job.cancel.is_set() or job_id != self.shown_job_id():
            return
        window = self.window
        image = window.sight.bar.live_frame() or image  # x0, or x_t when the bar asks for it
        window.workspace.show_preview(job.id, image, self._target_size(job.request, image))

    def _target_size(self, request: GenerationRequest, preview: QImage) -> QSize:
        source = self.window.workspace.input
        if request.mode.uses_init_image and source is not None:
            return source.size()
        if request.size is not None:
            return QSize(*request.size)
        info = self.window.panel.model_info(request.model)
        return QSize(*info.native_size) if info else preview.size() * 8

    def _finished(self, job_id: int, done: FinishedJob) -> None:
        self._end(job_id, succeeded=True)
        window, entries = self.window, done.outcome.entries
        window.history.add_entries(entries, done.images)
        if not entries:
            return
        count, where = len(entries), entries[0].path.parent
        servers = sorted(set(done.outcome.result.workers))  # a remote backend's servers
        made_on = f" (made on {', '.join(servers)})" if servers else ""
        window.statusBar().showMessage(
            f"Saved {count} image{'s' * (count > 1)} to {where}{made_on}", 8000
        )
        window.workspace.show_result(job_id, done.images[0], entries[0].path, entries[0].seed)
        window.panel.model_list.add_thumbnail(entries[0].request.model, done.images[0])

    def _failed(self, job_id: int, message: str) -> None:
        self._end(job_id, succeeded=False)
        self.window.show_error(f"Generation failed: {message}")

    def _cancelled(self, job_id: int) -> None:
        self._end(job_id, succeeded=False)
        self.window.statusBar().showMessage("Cancelled", 4000)

    def _end(self, job_id: int, succeeded: bool) -> None:
        run_status = self.window.run_status
        shown = job_id == self.shown_job_id()
        self.queue.finish(job_id)
        self.note_running()
        if shown:
            run_status.job_ended()
            if self.queue.running is not None:  # the next running job's progress is shown
                run_status.job_started()
        self.window.workspace.run_ended(job_id, succeeded)
        self.pump()


def describable(request: GenerationRequest) -> dict[str, object]:
    """The request as JSON-ready data without its images (the session keeps those)."""
    data = request.to_dict()
    for key in ("init_image", "mask"):
        data.pop(key, None)
    return data
