"""The prompt panel fits a small window: no sideways scrolling, Generate always in view."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize

from studio.core.request import Mode
from studio.ui.param_widgets import CUSTOM


def _inside(widget, window) -> bool:
    top_left = widget.mapTo(window, QPoint(0, 0))
    return window.rect().contains(QRect(top_left, widget.size()))


def _fits(window) -> bool:
    scroll = window.panel_scroll
    return window.panel.width() <= scroll.viewport().width() and (
        window.panel.minimumSizeHint().width() <= scroll.viewport().width()
    )


def test_custom_size_fits_the_panel_at_1024x640(window, qtbot):
    window.resize(QSize(1024, 640))
    qtbot.waitUntil(lambda: window.size() == QSize(1024, 640))
    narrowest = window.panel.minimumSizeHint().width()
    window.panel.size.preset.setCurrentText(CUSTOM)
    qtbot.wait(50)
    assert window.panel.size.width_spin.isVisibleTo(window)
    # The width and height boxes take a line of their own: the panel gets no wider.
    assert window.panel.minimumSizeHint().width() == narrowest
    assert _fits(window)
    for widget in (window.panel.size.width_spin, window.panel.size.height_spin):
        assert widget.mapTo(window.panel, QPoint(widget.width(), 0)).x() <= window.panel.width()


def test_generate_stays_in_view_at_1024x640_in_inpaint_mode(window, qtbot):
    window.resize(QSize(1024, 640))
    qtbot.waitUntil(lambda: window.size() == QSize(1024, 640))
    window.panel.set_mode(Mode.INPAINT)  # the tallest panel: input row and mask tools
    qtbot.wait(50)
    button = window.panel.generate_button
    assert button.isVisible() and _inside(button, window)
    assert not window.panel_scroll.isAncestorOf(button)
    assert _fits(window)
