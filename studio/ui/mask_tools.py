"""Inpaint controls in the prompt panel: brush or eraser, brush size, feather, whole-mask edits.

Buttons carry the window's QActions, so menus, shortcuts and these buttons share one state.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.mask_painter import MAX_FEATHER, MaskPainter

MAX_SLIDER_BRUSH = 256


class MaskTools(QWidget):
    def __init__(
        self,
        painter: MaskPainter,
        tools: list[QAction],
        edits: list[QAction],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setToolTip("Paint over what to repaint on the canvas; the rest is kept")
        self.brush_size = QSlider(Qt.Orientation.Horizontal)
        self.brush_size.setRange(1, MAX_SLIDER_BRUSH)
        self.brush_size.setValue(painter.brush_size)
        self.brush_size.setToolTip("Brush size in image pixels ([ smaller, ] larger)")
        self.size_label = QLabel(f"{painter.brush_size} px")
        self.size_label.setMinimumWidth(48)
        self.feather = QSpinBox()
        self.feather.setRange(0, MAX_FEATHER)
        self.feather.setSuffix(" px")
        self.feather.setValue(painter.feather)
        self.feather.setToolTip("Soft edge blended around the mask when generating")

        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        for action in tools:
            buttons.addWidget(_button(action))
        buttons.addSpacing(8)
        for action in edits:
            buttons.addWidget(_button(action))
        buttons.addStretch(1)
        size_row = QHBoxLayout()
        size_row.addWidget(self.brush_size, 1)
        size_row.addWidget(self.size_label)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Brush", size_row)
        form.addRow("Feather", self.feather)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addLayout(buttons)
        layout.addLayout(form)

        self.brush_size.valueChanged.connect(painter.set_brush_size)
        self.feather.valueChanged.connect(painter.set_feather)
        painter.brush_size_changed.connect(self._brush_size_changed)
        painter.feather_changed.connect(self.feather.setValue)

    def _brush_size_changed(self, size: int) -> None:
        self.size_label.setText(f"{size} px")
        self.brush_size.blockSignals(True)
        self.brush_size.setValue(min(size, MAX_SLIDER_BRUSH))
        self.brush_size.blockSignals(False)


def _button(action: QAction) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button
