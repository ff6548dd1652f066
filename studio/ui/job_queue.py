"""The generation queue as the window sees it: the running jobs, the rest waiting.

The queue lives on the UI side, so a waiting job can be removed before the worker ever
sees it. As many jobs run at once as the backend takes (`capacity`: one on this machine,
one a server with several ComfyUI servers); the first running job is the one whose previews
the canvas shows. Each job carries its own cancel event, which the UI sets directly (never
queued behind a running job).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from studio.core.request import GenerationRequest


@dataclass(eq=False)
class Job:
    id: int
    request: GenerationRequest
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def title(self) -> str:
        prompt = " ".join(self.request.prompt.split()) or "(no prompt)"
        return prompt if len(prompt) <= 60 else prompt[:57] + "…"

    @property
    def summary(self) -> str:
        """Enough to tell two jobs with one prompt apart: number, model, seed, size."""
        r = self.request
        size = f"{r.width}\u00d7{r.height}" if r.size else "native size"
        batch = f" \u00d7 {r.batch_size}" if r.batch_size > 1 else ""
        seed = "random seed" if r.seed is None else f"seed {r.seed}"
        return f"#{self.id} · {r.mode.label} · {r.model} · {seed} · {r.steps} steps · {size}{batch}"

    def step_text(self, step: int, total: int) -> str:
        """ "step 4/112", saying why when a strength below 1 runs fewer steps than asked."""
        text = f"step {step}/{total}"
        r = self.request
        if r.mode.uses_init_image and total != r.steps:
            text += f" (strength {r.strength:g} of {r.steps} steps)"
        return text


class JobQueue(QObject):
    """Waiting jobs in order plus the running ones; emits `changed` on every change."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._waiting: list[Job] = []
        self._running: list[Job] = []
        self.capacity = 1  # jobs run at once: what the backend takes

    @property
    def running(self) -> Job | None:
        """The first running job, whose previews the canvas shows."""
        return self._running[0] if self._running else None

    @property
    def running_jobs(self) -> list[Job]:
        return list(self._running)

    @property
    def waiting(self) -> list[Job]:
        return list(self._waiting)

    def __len__(self) -> int:
        return len(self._waiting) + len(self._running)

    def get(self, job_id: int) -> Job | None:
        """A running job by id (None once it ended)."""
        return next((job for job in self._running if job.id == job_id), None)

    def add(self, request: GenerationRequest) -> Job:
        job = Job(next(self._ids), request)
        self._waiting.append(job)
        self.changed.emit()
        return job

    def remove(self, job_id: int) -> bool:
        """Drop a waiting job; the running one is cancelled instead (see `cancel_running`)."""
        for job in self._waiting:
            if job.id == job_id:
                self._waiting.remove(job)
                self.changed.emit()
                return True
        return False

    def clear_waiting(self) -> None:
        if self._waiting:
            self._waiting.clear()
            self.changed.emit()

    def start_next(self) -> Job | None:
        """Move the first waiting job to running, if fewer than `capacity` run."""
        if len(self._running) >= self.capacity or not self._waiting:
            return None
        job = self._waiting.pop(0)
        self._running.append(job)
        self.changed.emit()
        return job

    def finish(self, job_id: int) -> None:
        job = self.get(job_id)
        if job is not None:
            self._running.remove(job)
            self.changed.emit()

    def cancel_running(self) -> bool:
        """Cancel every running job; False when none was left to cancel."""
        live = [job for job in self._running if not job.cancel.is_set()]
        for job in live:
            job.cancel.set()
        if live:
            self.changed.emit()
        return bool(live)
