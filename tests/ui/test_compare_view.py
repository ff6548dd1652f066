"""CompareView: synced panes, wipe, grid, and captions of what differs."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage

from studio.ui.compare_view import (
    CompareDialog,
    CompareItem,
    CompareMode,
    CompareView,
    WipeCanvas,
    caption_html,
)

RED = QColor(220, 30, 30)
BLUE = QColor(30, 30, 220)
COLOURS = [RED, BLUE, QColor(30, 200, 30), QColor(220, 220, 30), QColor(200, 30, 200)]


def _solid(colour: QColor, width: int = 128, height: int = 128) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB888)
    image.fill(colour)
    return image


def _items(count: int) -> list[CompareItem]:
    return [
        CompareItem(
            _solid(COLOURS[index]),
            f"image {index}",
            {"seed": 100 + index, "steps": 20, "prompt": "a snail"},
        )
        for index in range(count)
    ]


@pytest.fixture
def view(qtbot) -> CompareView:
    compare = CompareView()
    qtbot.addWidget(compare)
    compare.resize(900, 600)
    compare.show()
    qtbot.waitExposed(compare)
    return compare


def test_two_images_side_by_side_with_differing_params(view, qtbot):
    view.set_items(_items(2))
    _wait_for_layout(qtbot, view)
    assert view.mode() == CompareMode.SIDE_BY_SIDE
    canvases = view.canvases()
    assert len(canvases) == 2
    assert canvases[0].image().pixelColor(0, 0) == RED
    assert canvases[1].image().pixelColor(0, 0) == BLUE
    left, right = canvases[0].geometry(), canvases[1].geometry()
    assert left.top() == right.top() and left.height() == right.height()
    assert left.right() < right.left()
    captions = [label.text() for label in view.captions()]
    assert "image 0" in captions[0] and "seed" in captions[0] and "100" in captions[0]
    assert "101" in captions[1]
    assert all("steps" not in text and "snail" not in text for text in captions)


def test_more_than_three_images_make_a_grid(view, qtbot):
    view.set_items(_items(4))
    assert view.mode() == CompareMode.GRID
    canvases = view.canvases()
    _wait_for_layout(qtbot, view)
    tops = sorted({canvas.geometry().top() for canvas in canvases})
    lefts = sorted({canvas.geometry().left() for canvas in canvases})
    assert len(tops) == 2 and len(lefts) == 2  # 2 x 2, aligned
    widths = [canvas.width() for canvas in canvases]
    heights = [canvas.height() for canvas in canvases]
    assert max(widths) - min(widths) <= 1 and max(heights) - min(heights) <= 1  # rounding


def test_zoom_and_pan_follow_across_panes(view):
    view.set_items(_items(3))
    first, second, third = view.canvases()
    first.zoom_at(3.0, QPointF(100, 100))
    assert second.view_state() == first.view_state() == third.view_state()
    third.pan_by(QPointF(25, -10))
    assert first.view_state() == third.view_state()
    assert second.view_state() == third.view_state()
    view.zoom_fit()
    assert all(canvas.view_state().fitted for canvas in view.canvases())
    view.zoom_actual()
    assert {canvas.zoom() for canvas in view.canvases()} == {1.0}


def test_switching_mode_keeps_the_view(view):
    view.set_items(_items(3))
    view.canvases()[0].set_view_transform(2.0, QPointF(40, 50))
    view.set_mode(CompareMode.GRID)
    assert view.mode() == CompareMode.GRID
    state = view.canvases()[2].view_state()
    assert (state.zoom, state.center_x, state.center_y) == (2.0, 40, 50)


def test_wipe_only_with_exactly_two(view):
    view.set_items(_items(3))
    view.set_mode(CompareMode.WIPE)
    assert view.mode() == CompareMode.SIDE_BY_SIDE
    assert view.wipe_canvas() is None


def _wait_for_layout(qtbot, view: CompareView) -> None:
    # New panes are shown and laid out by queued events.
    qtbot.waitUntil(lambda: all(c.isVisible() and c.width() > 100 for c in view.canvases()))


def _column_colour(canvas: WipeCanvas, fraction: float) -> QColor:
    grabbed = canvas.grab().toImage()
    return grabbed.pixelColor(round(canvas.width() * fraction), canvas.height() // 2)


def test_wipe_reveals_first_left_of_the_line_second_right(view, qtbot):
    view.set_items(_items(2))
    view.set_mode(CompareMode.WIPE)
    canvas = view.wipe_canvas()
    assert isinstance(canvas, WipeCanvas)
    assert view.canvases() == [canvas]
    _wait_for_layout(qtbot, view)
    canvas.set_view_transform(8.0, QPointF(64, 64))  # image fills the pane
    assert _column_colour(canvas, 0.3) == RED
    assert _column_colour(canvas, 0.7) == BLUE
    canvas.set_wipe_position(0.8)
    assert _column_colour(canvas, 0.7) == RED
    canvas.set_wipe_position(0.1)
    assert _column_colour(canvas, 0.3) == BLUE


def test_dragging_the_wipe_line_moves_it_and_does_not_pan(view, qtbot):
    view.set_items(_items(2))
    view.set_mode(CompareMode.WIPE)
    canvas = view.wipe_canvas()
    _wait_for_layout(qtbot, view)
    state = canvas.view_state()
    line = QPoint(round(canvas.width() * canvas.wipe_position()), canvas.height() // 2)
    target = QPoint(round(canvas.width() * 0.25), line.y())
    with qtbot.waitSignal(canvas.wipe_position_changed):
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=line)
        qtbot.mouseMove(canvas, pos=target)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=target)
    assert canvas.wipe_position() == pytest.approx(0.25, abs=0.01)
    assert canvas.view_state() == state


def test_wipe_captions_name_both_sides(view):
    view.set_items(_items(2))
    view.set_mode(CompareMode.WIPE)
    left, right = (label.text() for label in view.captions())
    assert "image 0" in left and "100" in left
    assert "image 1" in right and "101" in right


def test_caption_escapes_and_shortens():
    text = caption_html(
        "<b>x</b>", {"prompt": "y" * 200, "guidance_scale": 7.5, "size": (512, 768)}
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in text
    assert "y" * 200 not in text and "…" in text
    assert "guidance scale" in text and "7.5" in text and "512x768" in text


def test_dialog_wraps_the_view(qtbot):
    dialog = CompareDialog(_items(4))
    qtbot.addWidget(dialog)
    assert dialog.compare_view().mode() == CompareMode.GRID
    assert len(dialog.compare_view().canvases()) == 4
    assert "4" in dialog.windowTitle()
    dialog.set_items(_items(2))
    assert len(dialog.compare_view().canvases()) == 2
