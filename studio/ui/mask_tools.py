"""Inpaint controls in the prompt panel: brush or eraser, brush size, feather, whole-mask edits,
and how the overlay looks (colour, opacity, shown or hidden).

Buttons carry the window's QActions, so menus, shortcuts and these buttons share one state.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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
from studio.ui.mask_style import MASK_COLORS, MAX_OPACITY, MIN_OPACITY, MaskStyle

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
        style = painter.style
        self.overlay_color = QComboBox()
        self.overlay_color.addItems(list(MASK_COLORS))
        self.overlay_color.setToolTip("Overlay colour: pick one that stands out from the image")
        self.overlay_opacity = QSpinBox()
        self.overlay_opacity.setRange(round(MIN_OPACITY * 100), round(MAX_OPACITY * 100))
        self.overlay_opacity.setSingleStep(10)
        self.overlay_opacity.setSuffix(" %")
        self.overlay_opacity.setToolTip("Overlay opacity")
        self.overlay_shown = QCheckBox("Show")
        self.overlay_shown.setToolTip("Show the mask over the input image")
        self._style_changed(style)

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
        overlay_row = QHBoxLayout()
        overlay_row.addWidget(self.overlay_color, 1)
        overlay_row.addWidget(self.overlay_opacity)
        overlay_row.addWidget(self.overlay_shown)
        form.addRow("Overlay", overlay_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addLayout(buttons)
        layout.addLayout(form)

        self.brush_size.valueChanged.connect(painter.set_brush_size)
        self.feather.valueChanged.connect(painter.set_feather)
        painter.brush_size_changed.connect(self._brush_size_changed)
        painter.feather_changed.connect(self.feather.setValue)
        self.overlay_color.currentTextChanged.connect(style.set_color)
        self.overlay_opacity.valueChanged.connect(lambda percent: style.set_opacity(percent / 100))
        self.overlay_shown.toggled.connect(style.set_shown)
        style.changed.connect(lambda: self._style_changed(style))

    def _style_changed(self, style: MaskStyle) -> None:
        for widget in (self.overlay_color, self.overlay_opacity, self.overlay_shown):
            widget.blockSignals(True)
        self.overlay_color.setCurrentText(style.color)
        self.overlay_opacity.setValue(round(style.opacity * 100))
        self.overlay_shown.setChecked(style.shown)
        for widget in (self.overlay_color, self.overlay_opacity, self.overlay_shown):
            widget.blockSignals(False)

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
