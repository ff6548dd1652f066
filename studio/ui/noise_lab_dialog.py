"""The noise lab: an image as the forward process noises it, beside the schedule's curves.

The slider picks a training timestep; the worker noises the image in the model's latent
space and decodes it (`SightWorker.noise_at`). The plots (matplotlib) show the signal's
share of the variance (alpha-bar for SD and SDXL; its analog, SNR / (1 + SNR), for
flow-matching SD3 and FLUX.1, whose timesteps run to 1000) and the signal-to-noise ratio
over the timesteps, with a line at the chosen one. "Denoise from here" asks for img2img at
the matching strength, from the same noise.
"""

from __future__ import annotations

import math

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

IMAGE_SIDE = 320
DEBOUNCE_MS = 60  # a drag asks for one decode per pause, not one per pixel


class NoiseLabDialog(QDialog):
    timestep_changed = Signal(int)
    denoise_requested = Signal(int)

    def __init__(self, source_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Noise lab \u2013 {source_name}")
        self._curves: dict[str, list[float]] | None = None
        self.image = QLabel("Loading the model\u2026")
        self.image.setFixedSize(IMAGE_SIDE, IMAGE_SIDE)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 999)
        self.slider.setValue(500)
        self.slider.setEnabled(False)
        self.readout = QLabel()
        self.denoise = QPushButton("Denoise from here")
        self.denoise.setToolTip("img2img from this noisy image: the strength that starts here")
        self.denoise.setEnabled(False)

        self.figure = Figure(figsize=(4.6, 4.2), tight_layout=True)
        self.plot = FigureCanvasQTAgg(self.figure)
        self.signal_axes = self.figure.add_subplot(2, 1, 1)
        self.snr_axes = self.figure.add_subplot(2, 1, 2, sharex=self.signal_axes)
        self._markers: list = []

        left = QVBoxLayout()
        left.addWidget(self.image)
        left.addWidget(self.slider)
        left.addWidget(self.readout)
        left.addWidget(self.denoise)
        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addWidget(self.plot, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(lambda: self.timestep_changed.emit(self.timestep()))
        self.slider.valueChanged.connect(self._moved)
        self.denoise.clicked.connect(lambda: self.denoise_requested.emit(self.timestep()))

    def timestep(self) -> int:
        return self.slider.value()

    def set_curves(self, curves: dict[str, list[float]]) -> None:
        self._curves = curves
        timesteps = curves["timesteps"]
        self.slider.setRange(0, len(timesteps) - 1)
        self.signal_axes.clear()
        self.signal_axes.plot(timesteps, curves["signal"], color="#2b6cb0")
        self.signal_axes.set_ylabel(curves["signal_label"])
        self.snr_axes.clear()
        positive = [
            (t, s) for t, s in zip(timesteps, curves["snr"], strict=True) if 0 < s < math.inf
        ]
        self.snr_axes.semilogy([t for t, _ in positive], [s for _, s in positive], color="#c05621")
        self.snr_axes.set_ylabel("SNR")
        self.snr_axes.set_xlabel("timestep t")
        self.slider.setEnabled(True)
        self.denoise.setEnabled(True)
        self._moved(self.timestep())

    def show_frame(self, timestep: int, image: QImage) -> None:
        if timestep != self.timestep():
            return  # a frame for where the slider was
        pixmap = QPixmap.fromImage(image).scaled(
            IMAGE_SIDE,
            IMAGE_SIDE,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.image.setPixmap(pixmap)

    def _moved(self, timestep: int) -> None:
        self._debounce.start()
        if self._curves is None:
            return
        curves = self._curves
        signal, snr = curves["signal"][timestep], curves["snr"][timestep]
        self.readout.setText(
            f"t = {timestep}   {curves['signal_name']} {signal:.3g}   SNR {snr:.3g}"
        )
        for marker in self._markers:
            marker.remove()
        self._markers = [ax.axvline(timestep, color="#555", lw=1) for ax in self._axes()]
        self.plot.draw_idle()

    def _axes(self) -> tuple:
        return self.signal_axes, self.snr_axes
