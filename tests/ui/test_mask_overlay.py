"""The mask overlay shows over any image (colour, opacity, hide), the brush fits the image, and a
mask never silently carries over to another input."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QSize
from PySide6.QtGui import QColor, QImage

from studio.core.request import Mode
from studio.ui.canvas import CanvasView
from studio.ui.mask_painter import MaskPainter

RED = QColor(220, 30, 30)


def _solid(size: int, colour: QColor) -> QImage:
    image = QImage(size, size, QImage.Format.Format_RGB888)
    image.fill(colour)
    return image


@pytest.fixture
def red_canvas(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(_solid(64, RED))
    painter = MaskPainter(QSize(64, 64))
    painter.fill()
    view.set_mask_painter(painter)
    view.set_mask_editing(True)
    return view, painter


def _centre(view: CanvasView) -> QColor:
    point = view.image_rect_in_widget().center().toPoint()
    return QColor(view.grab().toImage().pixel(point))


def _distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def test_another_colour_makes_the_mask_visible_over_red(red_canvas):
    view, painter = red_canvas
    red_overlay = _centre(view)
    assert _distance(red_overlay, RED) < 60  # the default red tint all but vanishes here
    painter.style.set_color("Cyan")
    assert _distance(_centre(view), RED) > 200


def test_opacity_and_hiding(red_canvas):
    view, painter = red_canvas
    painter.style.set_color("Black")
    painter.style.set_opacity(1.0)
    assert _centre(view).lightness() < 10
    painter.style.set_opacity(0.2)
    faint = _centre(view)
    assert 20 < _distance(faint, RED) < 200
    painter.style.set_shown(False)
    assert _distance(_centre(view), RED) < 6


def test_mask_tools_drive_the_overlay(window):
    tools, style = window.panel._mask_tools, window.painter.style
    tools.overlay_color.setCurrentText("Green")
    tools.overlay_opacity.setValue(80)
    tools.overlay_shown.setChecked(False)
    assert (style.color, style.opacity, style.shown) == ("Green", 0.8, False)
    style.set_color("Blue")
    assert tools.overlay_color.currentText() == "Blue"


def test_the_brush_fits_a_small_image_and_follows_its_size(window):
    window.workspace.set_input(_solid(64, RED))
    assert window.painter.brush_size <= 8
    window.painter.set_brush_size(10)
    window.workspace.set_input(_solid(128, RED))
    assert window.painter.brush_size == 20


def test_a_mask_does_not_silently_carry_over_to_a_new_input(window, qtbot):
    window.workspace.set_input(_solid(64, RED))
    window.panel.set_mode(Mode.INPAINT)
    window.painter.begin_stroke(QPointF(32, 32))
    window.painter.end_stroke()
    window.workspace.set_input(_solid(64, QColor("navy")))
    assert window.painter.is_empty()
    assert "mask was cleared" in window.notice.text()
    window.actions_.undo.trigger()
    assert not window.painter.is_empty()


def test_the_same_picture_again_keeps_its_mask(window):
    window.workspace.set_input(_solid(64, RED))
    window.painter.begin_stroke(QPointF(32, 32))
    window.painter.end_stroke()
    window.workspace.set_input(_solid(64, RED))
    assert not window.painter.is_empty()
