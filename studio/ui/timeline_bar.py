"""The scrub bar under the canvas: every step of a run, as x0 or x_t.

It keeps each step's two small previews (the clean-image estimate and the noisy latents) as
they arrive; dragging the slider shows any of them, live during a run and after it. It keeps
the last runs the worker keeps (`keep_only`), and shows the run of the image on the canvas
(`show_run`). "Full quality" asks the worker to decode the step with the real VAE; "Export"
writes the run as an animation; "Attention" records per-word maps for the next run, shown as
word buttons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

CLEAN, NOISY = "x0", "xt"


@dataclass
class _Run:
    frames: dict[int, tuple[QImage, QImage]] = field(default_factory=dict)  # step -> (x0, x_t)
    total: int = 0
    running: bool = True
    kept: bool = False  # the worker holds its latents for decoding


class TimelineBar(QWidget):
    frame_chosen = Signal(QImage)  # show this on the canvas
    result_chosen = Signal()  # back to the finished image
    decode_requested = Signal(int, int, str)  # run (job id), step, CLEAN or NOISY
    export_requested = Signal(int, str)  # run (job id), CLEAN or NOISY
    attention_toggled = Signal(bool)
    attention_step_requested = Signal(int)  # the word maps of this step (0: of all steps)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineBar")
        self._runs: dict[int, _Run] = {}  # by job id
        self._shown: int | None = None  # the run on the slider
        self._live: int | None = None  # the run whose steps arrive
        self._words: list[tuple[str, QImage]] = []

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 1)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Scrub through the steps of the run that made the image")
        self.label = QLabel("No run yet")
        # Room for a step count without jitter; longer messages take more when the window has it.
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance("Step 000/000"))
        self.noisy = QPushButton("Noisy (x\u209c)")
        self.noisy.setCheckable(True)
        self.noisy.setToolTip("Show the noisy latents x_t instead of the clean-image estimate x0")
        self.full = QPushButton("Full quality")
        self.full.setToolTip("Decode this step with the model's VAE")
        self.export = QPushButton("Export\u2026")
        self.export.setToolTip("Write the run as an animated WebP or GIF")
        self.attention = QCheckBox("Attention")
        self.attention.setToolTip("Record a heat map per word of the prompt in the next run")
        for widget in (self.full, self.export):
            widget.setEnabled(False)

        row = QHBoxLayout()
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(self.label)
        row.addWidget(self.slider, 1)
        for widget in (self.noisy, self.full, self.export, self.attention):
            row.addWidget(widget)
        self.words_row = QHBoxLayout()
        self.words_row.setContentsMargins(6, 0, 6, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(row)
        layout.addLayout(self.words_row)

        self.slider.valueChanged.connect(self._scrubbed)
        self.noisy.toggled.connect(lambda _on: self._scrubbed(self.slider.value()))
        self.full.clicked.connect(
            lambda: self.decode_requested.emit(self._shown, self.step(), self.kind())
        )
        self.export.clicked.connect(lambda: self.export_requested.emit(self._shown, self.kind()))
        self.attention.toggled.connect(self.attention_toggled)

    # -- state -----------------------------------------------------------------------------

    def kind(self) -> str:
        return NOISY if self.noisy.isChecked() else CLEAN

    def step(self) -> int:
        return self.slider.value()

    def steps(self) -> list[int]:
        return sorted(self._run().frames)

    def shown_run(self) -> int | None:
        return self._shown

    def frame(self, step: int, kind: str | None = None) -> QImage | None:
        pair = self._run().frames.get(step)
        if pair is None:
            return None
        return pair[1] if (kind or self.kind()) == NOISY else pair[0]

    def live_frame(self) -> QImage | None:
        """What the canvas should show for the newest step during a run."""
        run = self._runs.get(self._live) if self._live is not None else None
        if run is None or not run.frames:
            return None
        pair = run.frames[max(run.frames)]
        return pair[1] if self.kind() == NOISY else pair[0]

    # -- runs ------------------------------------------------------------------------------

    def run_started(self, job_id: int) -> None:
        self._runs[job_id] = _Run()
        self._live = job_id
        self.set_words([])
        self._show(job_id)
        self.label.setText("Waiting for the first step")

    def add_step(self, step: int, total: int, clean: QImage, noisy: QImage) -> None:
        run = self._runs.get(self._live) if self._live is not None else None
        if run is None:
            return
        run.frames[step] = (clean, noisy)
        run.total = total
        if self._shown != self._live:
            return
        following = not self.slider.isEnabled() or self.slider.value() == self.slider.maximum()
        self.slider.setEnabled(True)
        blocker = QSignalBlocker(self.slider)
        self.slider.setRange(1, max(run.frames))
        if following:
            self.slider.setValue(step)
        blocker.unblock()
        self._update_label()

    def run_ended(self, job_id: int, kept: bool) -> None:
        """`kept`: the run finished and the worker holds its latents for decoding; a run not
        kept is forgotten (unless it is on the slider, which keeps its previews)."""
        run = self._runs.get(job_id)
        if run is None:
            return
        run.running, run.kept = False, kept and bool(run.frames)
        self._prune()
        if job_id == self._shown:
            self._show(job_id)

    def keep_only(self, job_ids: list[int]) -> None:
        """The runs the worker still keeps; the others' previews go (the shown one stays, no
        longer decodable)."""
        for job_id, run in self._runs.items():
            run.kept = run.kept and job_id in job_ids
        self._prune()
        if self._shown is not None:
            self._show(self._shown)

    def show_run(self, job_id: int | None) -> None:
        """Scrub the run `job_id` (the image on the canvas); None or a run no longer kept: the
        bar says there are no steps for that image."""
        if job_id is not None and job_id in self._runs:
            self._show(job_id)
        else:
            self._shown = None
            self.slider.setEnabled(False)
            self.full.setEnabled(False)
            self.export.setEnabled(False)
            self.label.setText("No steps kept for this image")
        self._prune()

    def _prune(self) -> None:
        """Forget ended runs the worker does not keep, unless on the slider."""
        for job_id, run in list(self._runs.items()):
            if job_id != self._shown and not (run.kept or run.running):
                del self._runs[job_id]

    def _show(self, job_id: int) -> None:
        run = self._runs[job_id]
        self._shown = job_id
        blocker = QSignalBlocker(self.slider)
        self.slider.setEnabled(bool(run.frames))
        if run.frames:
            self.slider.setRange(1, max(run.frames))
            if not run.running:
                self.slider.setValue(max(run.frames))
        blocker.unblock()
        self.full.setEnabled(run.kept)
        self.export.setEnabled(run.kept)
        self._update_label()

    def _run(self) -> _Run:
        return self._runs.get(self._shown, _Run()) if self._shown is not None else _Run()

    def set_words(self, words: list[tuple[str, QImage]], step: int = 0) -> None:
        """Per-word attention overlays of one step (0: all steps); a button each."""
        self._words = words
        while self.words_row.count():
            item = self.words_row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        if not words:
            return
        title = f"Attention, step {step}:" if step else "Attention, all steps:"
        self.words_row.addWidget(QLabel(title))
        for word, overlay in words:
            button = QPushButton(word)
            button.setFlat(True)
            button.setToolTip(f"Where \u201c{word}\u201d looked, over the image")
            button.clicked.connect(lambda _=False, image=overlay: self.frame_chosen.emit(image))
            self.words_row.addWidget(button)
        self.words_row.addStretch(1)

    def word_names(self) -> list[str]:
        return [word for word, _ in self._words]

    def word_map(self, word: str, occurrence: int = 0) -> QImage | None:
        """The overlay of the `occurrence`-th `word` (any case) of the prompt in the last run,
        if attention was recorded."""
        matches = [image for name, image in self._words if name == word.lower()]
        return matches[occurrence] if occurrence < len(matches) else None

    # -- internals -------------------------------------------------------------------------

    def _scrubbed(self, step: int) -> None:
        self._update_label()
        frame = self.frame(step)
        if frame is None:
            return
        run = self._run()
        finished = step == run.total and not run.running
        if self._words and not run.running and self._shown == self._live:
            self.attention_step_requested.emit(0 if finished else step)
        if finished and self.kind() == CLEAN:
            self.result_chosen.emit()
        else:
            self.frame_chosen.emit(frame)

    def _update_label(self) -> None:
        run = self._run()
        if not run.frames:
            return
        name = "x\u209c noisy" if self.kind() == NOISY else "x\u2080 estimate"
        self.label.setText(f"Step {self.step()}/{run.total} \u00b7 {name}")
