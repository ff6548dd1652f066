"""Set up an X/Y sweep of the current request: two axes, each with its values."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from studio.core.errors import RequestError
from studio.core.request import GenerationRequest
from studio.core.sweep import GUIDANCE_TABLE_SCALES, AxisKind, Sweep, SweepAxis, guidance_table

NONE = "(none)"
EXAMPLES = {
    AxisKind.GUIDANCE: "1, 3, 7.5, 15",
    AxisKind.STEPS: "10, 20, 40",
    AxisKind.SEED: "1, 2, 3",
    AxisKind.SAMPLER: "DDIM, Euler a, UniPC",
    AxisKind.STRENGTH: "0.3, 0.6, 0.9",
    AxisKind.MODEL: "snail-mini",
    AxisKind.PROMPT: "red, blue, green  (the first is searched for)",
}


class SweepDialog(QDialog):
    def __init__(self, base: GenerationRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sweep")
        self.base = base
        self.x_kind, self.x_values = QComboBox(), QLineEdit()
        self.y_kind, self.y_values = QComboBox(), QLineEdit()
        self.x_kind.addItems([k.value for k in AxisKind])
        self.y_kind.addItems([NONE, *(k.value for k in AxisKind)])
        self.x_values.setText(", ".join(f"{v:g}" for v in GUIDANCE_TABLE_SCALES))
        self.y_kind.setCurrentText(AxisKind.SEED.value)
        self.y_values.setText("1, 2")
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")
        self.error.setWordWrap(True)
        preset = QPushButton("Guidance table")
        preset.setToolTip("Guidance 1, 3, 7.5, 15, 30 across, three seeds down")
        preset.clicked.connect(self._guidance_table)

        form = QFormLayout(self)
        form.addRow(QLabel(f"Sweeps the current request: \u201c{base.prompt}\u201d"))
        form.addRow("X axis", _pair(self.x_kind, self.x_values))
        form.addRow("Y axis", _pair(self.y_kind, self.y_values))
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Queue sweep")
        buttons.addButton(preset, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.x_kind.currentTextChanged.connect(lambda k: self.x_values.setPlaceholderText(_hint(k)))
        self.y_kind.currentTextChanged.connect(lambda k: self.y_values.setPlaceholderText(_hint(k)))

    def sweep(self) -> Sweep:
        """The sweep the fields describe; raises `RequestError` with the reason."""
        x = SweepAxis.parse(AxisKind(self.x_kind.currentText()), self.x_values.text())
        y = None
        if self.y_kind.currentText() != NONE:
            y = SweepAxis.parse(AxisKind(self.y_kind.currentText()), self.y_values.text())
        sweep = Sweep(self.base, x, y)
        sweep.validate()
        return sweep

    def accept(self) -> None:
        try:
            self.sweep()
        except RequestError as exc:
            self.error.setText(str(exc))
            return
        super().accept()

    def _guidance_table(self) -> None:
        table = guidance_table(self.base)
        self.x_kind.setCurrentText(table.x.kind.value)
        self.x_values.setText(", ".join(f"{v:g}" for v in table.x.values))
        self.y_kind.setCurrentText(table.y.kind.value)
        self.y_values.setText(", ".join(str(v) for v in table.y.values))


def _pair(kind: QComboBox, values: QLineEdit) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(kind)
    layout.addWidget(values, 1)
    return row


def _hint(kind: str) -> str:
    return EXAMPLES.get(AxisKind(kind), "") if kind != NONE else ""
