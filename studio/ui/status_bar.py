"""The status bar's permanent widgets: model status, and run progress with elapsed time and ETA.

Steps on a CPU can take many seconds, so elapsed and ETA tick on a timer between steps
instead of freezing until the next one arrives.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from studio.core.models import ModelInfo
from studio.core.results import LoadProgress, StepUpdate
from studio.ui.param_widgets import size_text

TICK_MS = 500


def clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class RunStatus(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_label = QLabel("Starting the engine…")
        self.model_label.setObjectName("modelStatus")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(420)  # room for "Step 4/112 (strength 0.75 of 150 steps)"
        self.progress.setTextVisible(True)
        self.progress.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self.progress)
        layout.addWidget(self.model_label)
        self._started = 0.0
        self._loading = ""
        self._last: StepUpdate | None = None
        self._step_text = ""
        self._last_at = 0.0
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self._render)

    # -- model -----------------------------------------------------------------------------

    def model_loading(self, model: str) -> None:
        self._loading = model
        self.model_label.setText(f"Loading model {model}…")
        self.model_label.setToolTip("")

    def model_load_progress(self, progress: LoadProgress) -> None:
        """Bytes read so far of a model being loaded (reading is most of a load's time)."""
        self.model_label.setText(
            f"Loading model {self._loading}… {progress.fraction:.0%} of "
            f"{progress.total / 1e9:.1f} GB"
        )

    def model_ready(self, info: ModelInfo) -> None:
        width, height = info.native_size
        self.model_label.setText(f"Model: {info.name} · {size_text(width, height)}")
        self.model_label.setToolTip(str(info.path))

    def model_failed(self, message: str) -> None:
        self.model_label.setText("Model not loaded")
        self.model_label.setToolTip(message)

    def engine_ready(self, count: int) -> None:
        if self.model_label.text().startswith("Starting"):
            self.model_label.setText(f"Engine ready · {count} model{'s' * (count != 1)}")

    # -- run -------------------------------------------------------------------------------

    def job_started(self) -> None:
        self._started = self._last_at = time.monotonic()
        self._last = None
        self.progress.setRange(0, 0)  # busy until the first step (model load, encoding)
        self.progress.show()
        self._timer.start()
        self._render()

    def step(self, update: StepUpdate, text: str = "") -> None:
        """A step done; `text` says which ("step 4/112 (strength 0.75 of 150 steps)")."""
        self._last = update
        self._step_text = text or f"step {update.step}/{update.total}"
        self._last_at = time.monotonic()
        self.progress.setRange(0, max(1, update.total))
        self.progress.setValue(update.step)
        self._render()

    def job_ended(self) -> None:
        self._timer.stop()
        self._last = None
        self.progress.hide()

    def text(self) -> str:
        return self.progress.format()

    def _render(self) -> None:
        now = time.monotonic()
        elapsed = clock(now - self._started)
        update = self._last
        if update is None:
            self.progress.setFormat(f"Starting… · {elapsed}")
            return
        parts = [self._step_text[:1].upper() + self._step_text[1:], elapsed]
        if update.eta is not None and update.step < update.total:
            parts.append(f"ETA {clock(update.eta - (now - self._last_at))}")
        elif update.step >= update.total:
            parts.append("decoding")
        self.progress.setFormat(" · ".join(parts))
