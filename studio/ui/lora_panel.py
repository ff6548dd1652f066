"""The LoRA panel: pick LoRAs made for the current model's family and set each one's weight.

A view of `LoraState`. Typing `<lora:name:0.8>` in the prompt works too (the engine merges
both); the panel shows what it adds itself.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.request import MAX_LORA_WEIGHT
from studio.ui.lora_state import LoraState

SLIDER_STEPS = 100  # slider units per weight 1.0
SLIDER_RANGE = 2  # the slider spans -2..2; the spin box takes the full range
NO_LORAS = "No LoRAs for this model's family in the model folders (loras/, Lora/)."


class LoraRow(QWidget):
    """One chosen LoRA: its name, a weight slider and spin box kept in step, and remove."""

    def __init__(self, state: LoraState, name: str, weight: float) -> None:
        super().__init__()
        self.state = state
        self.name = name
        self.label = QLabel(name)
        self.label.setMinimumWidth(60)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-SLIDER_RANGE * SLIDER_STEPS, SLIDER_RANGE * SLIDER_STEPS)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(-MAX_LORA_WEIGHT, MAX_LORA_WEIGHT)
        self.spin.setSingleStep(0.05)
        self.spin.setDecimals(2)
        self.spin.setKeyboardTracking(False)  # a typed weight counts once it is complete
        self.spin.setToolTip("Weight: 0 leaves the image as without this LoRA")
        self.remove = QToolButton(text="✕")
        self.remove.setToolTip(f"Remove {name}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 2)
        layout.addWidget(self.slider, 3)
        layout.addWidget(self.spin)
        layout.addWidget(self.remove)
        self.show_weight(weight)
        self.slider.valueChanged.connect(lambda v: state.set_weight(name, v / SLIDER_STEPS))
        self.spin.valueChanged.connect(lambda v: state.set_weight(name, v))
        self.remove.clicked.connect(lambda: state.remove(name))

    def show_weight(self, weight: float) -> None:
        for widget, value in ((self.slider, round(weight * SLIDER_STEPS)), (self.spin, weight)):
            if widget.value() != value:  # setting a spin box rewrites the text being typed
                widget.blockSignals(True)
                widget.setValue(value)
                widget.blockSignals(False)

    def show_fit(self, fits: bool) -> None:
        self.label.setEnabled(fits)
        self.label.setToolTip("" if fits else "Not for the current model: generating refuses it")


class LoraPanel(QWidget):
    def __init__(self, state: LoraState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.picker = QComboBox()
        self.picker.setToolTip("LoRAs made for the current model's family")
        self.add_button = QPushButton("Add")
        self.empty = QLabel(NO_LORAS)
        self.empty.setWordWrap(True)
        self.empty.setObjectName("hint")
        self.rows: list[LoraRow] = []
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        pick = QHBoxLayout()
        pick.setContentsMargins(0, 0, 0, 0)
        pick.addWidget(self.picker, 1)
        pick.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(pick)
        layout.addWidget(self.empty)
        layout.addLayout(self._rows_layout)
        self.add_button.clicked.connect(self._add)
        state.available_changed.connect(self._show_available)
        state.changed.connect(self._show_chosen)
        self._show_available()

    def _add(self) -> None:
        name = self.picker.currentData()
        if name:
            self.state.add(name)

    def _show_available(self) -> None:
        self.picker.clear()
        for lora in self.state.available:
            label = lora.name if lora.usable else f"{lora.name} (cannot be applied)"
            self.picker.addItem(label, lora.name if lora.usable else None)
            if not lora.usable:
                self.picker.setItemData(
                    self.picker.count() - 1, lora.problem, Qt.ItemDataRole.ToolTipRole
                )
        has_any = bool(self.state.available)
        self.picker.setEnabled(has_any)
        self.add_button.setEnabled(has_any)
        self.empty.setVisible(not has_any)
        self._show_chosen()

    def _show_chosen(self) -> None:
        chosen = self.state.chosen
        if [row.name for row in self.rows] != [ref.name for ref in chosen]:
            for row in self.rows:
                row.deleteLater()
            self.rows = [LoraRow(self.state, ref.name, ref.weight) for ref in chosen]
            for row in self.rows:
                self._rows_layout.addWidget(row)
        for row, ref in zip(self.rows, chosen, strict=True):
            row.show_weight(ref.weight)
            row.show_fit(self.state.fits(ref.name))
