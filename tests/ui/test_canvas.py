"""CanvasView: zoom, pan, previews, drops, and painting the mask in image coordinates."""

from __future__ import annotations

import warnings

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from studio.ui.canvas import FIT_MARGIN, CanvasView, ViewState
from studio.ui.mask_painter import MaskPainter

BLUE = QColor(20, 60, 200)


def _solid(width: int, height: int, colour: QColor = BLUE) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB888)
    image.fill(colour)
    return image


@pytest.fixture
def canvas(qtbot) -> CanvasView:
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def _pixel(view: CanvasView, point: QPointF) -> QColor:
    return QColor(view.grab().toImage().pixel(point.toPoint()))


def _wheel(view: CanvasView, pos: QPointF, notches: float) -> None:
    event = QWheelEvent(
        pos,
        view.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, round(120 * notches)),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view, event)


def test_set_image_fits_and_centres_it(canvas):
    canvas.set_image(_solid(200, 100))
    assert canvas.image().size() == QSize(200, 100)
    rect = canvas.image_rect_in_widget()
    assert rect.width() == pytest.approx(400 - 2 * FIT_MARGIN)
    assert rect.center().x() == pytest.approx(200) and rect.center().y() == pytest.approx(150)
    assert canvas.zoom() == pytest.approx((400 - 2 * FIT_MARGIN) / 200)
    assert _pixel(canvas, rect.center()) == BLUE


def test_zoom_actual_and_fit(canvas, qtbot):
    canvas.set_image(_solid(1000, 800))
    assert canvas.zoom() < 1
    with qtbot.waitSignal(canvas.zoom_changed) as blocker:
        canvas.zoom_actual()
    assert blocker.args == [pytest.approx(1.0)]
    assert canvas.image_rect_in_widget().width() == pytest.approx(1000)
    canvas.zoom_fit()
    assert canvas.image_rect_in_widget().height() == pytest.approx(300 - 2 * FIT_MARGIN)


def test_zoom_in_and_out_step_through_levels(canvas):
    canvas.set_image(_solid(100, 100))
    canvas.zoom_actual()
    canvas.zoom_in()
    assert canvas.zoom() == pytest.approx(1.5)
    canvas.zoom_out()
    canvas.zoom_out()
    assert canvas.zoom() == pytest.approx(2 / 3)


def test_wheel_zooms_around_the_cursor(canvas, qtbot):
    canvas.set_image(_solid(400, 300))
    canvas.zoom_actual()
    cursor = QPointF(100, 80)
    under_cursor = canvas.map_to_image(cursor)
    with qtbot.waitSignal(canvas.zoom_changed):
        _wheel(canvas, cursor, 2)
    assert canvas.zoom() == pytest.approx(1.25**2)
    after = canvas.map_to_image(cursor)
    assert after.x() == pytest.approx(under_cursor.x()) and after.y() == pytest.approx(
        under_cursor.y()
    )
    _wheel(canvas, cursor, -1)
    assert canvas.zoom() == pytest.approx(1.25)
    assert canvas.map_to_image(cursor).x() == pytest.approx(under_cursor.x())


def test_resizing_keeps_a_fitted_image_fitted_but_not_a_zoomed_one(canvas, qtbot):
    canvas.set_image(_solid(200, 200))
    canvas.resize(600, 500)
    qtbot.waitUntil(lambda: canvas.image_rect_in_widget().height() == 500 - 2 * FIT_MARGIN)
    canvas.zoom_actual()
    canvas.resize(300, 300)
    qtbot.waitUntil(lambda: canvas.width() == 300)
    assert canvas.zoom() == pytest.approx(1.0)


def test_same_size_image_keeps_the_view_new_size_refits(canvas):
    canvas.set_image(_solid(200, 200))
    canvas.zoom_at(3.0, QPointF(50, 50))
    state = canvas.view_state()
    canvas.set_image(_solid(200, 200, QColor("red")))
    assert canvas.view_state() == state
    canvas.set_image(_solid(300, 100))
    assert canvas.view_state().fitted


def test_preview_is_drawn_without_replacing_the_image(canvas):
    image = _solid(64, 64)
    canvas.set_image(image)
    preview = _solid(8, 8, QColor(250, 200, 0))
    canvas.show_preview(preview)
    assert canvas.image() is image
    assert canvas.has_preview()
    centre = canvas.image_rect_in_widget().center()
    assert _pixel(canvas, centre) == QColor(250, 200, 0)
    canvas.set_image(_solid(64, 64, QColor("white")))
    assert not canvas.has_preview()
    assert _pixel(canvas, centre) == QColor("white")


def test_preview_without_image_uses_the_given_size(canvas):
    canvas.show_preview(_solid(16, 16, QColor(0, 200, 0)), QSize(512, 256))
    assert canvas.image() is None
    assert canvas.content_size() == QSize(512, 256)
    rect = canvas.image_rect_in_widget()
    assert rect.width() / rect.height() == pytest.approx(2.0)
    assert _pixel(canvas, rect.center()) == QColor(0, 200, 0)


def test_view_state_round_trip_and_signal(canvas, qtbot):
    canvas.set_image(_solid(300, 300))
    with qtbot.waitSignal(canvas.view_changed) as blocker:
        canvas.set_view_transform(2.0, QPointF(100, 120))
    state = blocker.args[0]
    assert isinstance(state, ViewState)
    assert (state.zoom, state.center_x, state.center_y, state.fitted) == (2.0, 100, 120, False)
    other = CanvasView()
    qtbot.addWidget(other)
    other.resize(400, 300)
    other.set_image(_solid(300, 300))
    other.set_view_state(state)
    assert other.view_state() == state
    assert other.map_to_image(QPointF(200, 150)) == QPointF(100, 120)


def test_pan_keeps_some_of_the_image_on_screen(canvas):
    canvas.set_image(_solid(100, 100))
    canvas.pan_by(QPointF(5000, 5000))
    rect = canvas.image_rect_in_widget()
    assert rect.left() < canvas.width() and rect.top() < canvas.height()


def _editing_canvas(canvas: CanvasView) -> MaskPainter:
    canvas.set_image(_solid(200, 200))
    painter = MaskPainter()
    canvas.set_mask_painter(painter)  # takes the image's size
    painter.set_brush_size(6)
    canvas.set_mask_editing(True)
    return painter


def test_painting_uses_image_coordinates_when_zoomed(canvas, qtbot):
    painter = _editing_canvas(canvas)
    assert painter.size() == QSize(200, 200)
    canvas.set_view_transform(3.0, QPointF(60, 60))
    start = canvas.map_from_image(QPointF(50, 70)).toPoint()
    end = canvas.map_from_image(QPointF(80, 70)).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, pos=end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
    mask = painter.mask()
    assert QColor(mask.pixel(50, 70)).red() == 255
    assert QColor(mask.pixel(65, 70)).red() == 255
    assert QColor(mask.pixel(80, 70)).red() == 255
    assert QColor(mask.pixel(65, 80)).red() == 0  # beyond the 3 px radius
    # Where the widget coordinates would have landed unmapped stays clear.
    assert QColor(mask.pixel(min(start.x(), 199), min(start.y(), 199))).red() == 0
    assert painter.undo_stack.count() == 1


def test_mask_overlay_is_red_while_editing_faint_otherwise(canvas):
    painter = _editing_canvas(canvas)
    painter.set_brush_size(60)
    painter.begin_stroke(QPointF(100, 100))
    painter.end_stroke()
    centre = canvas.map_from_image(QPointF(100, 100))
    outside = canvas.map_from_image(QPointF(20, 20))
    editing = _pixel(canvas, centre)
    assert editing.red() > BLUE.red() + 80
    assert _pixel(canvas, outside) == BLUE
    canvas.set_mask_editing(False)
    idle = _pixel(canvas, centre)
    assert BLUE.red() < idle.red() < editing.red()
    canvas.set_mask_visible(False)
    assert _pixel(canvas, centre) == BLUE


def test_left_drag_pans_when_not_editing(canvas, qtbot):
    painter = _editing_canvas(canvas)
    canvas.set_mask_editing(False)
    canvas.zoom_actual()
    before = canvas.view_state()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 150))
    qtbot.mouseMove(canvas, pos=QPoint(230, 140))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(230, 140))
    after = canvas.view_state()
    assert after.center_x == pytest.approx(before.center_x - 30)
    assert after.center_y == pytest.approx(before.center_y + 10)
    assert painter.is_empty()


def test_middle_drag_and_space_drag_pan_while_editing(canvas, qtbot):
    painter = _editing_canvas(canvas)
    canvas.zoom_actual()
    before = canvas.view_state()
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(200, 150))
    qtbot.mouseMove(canvas, pos=QPoint(220, 150))
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(220, 150))
    assert canvas.view_state().center_x == pytest.approx(before.center_x - 20)
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 150))
    qtbot.mouseMove(canvas, pos=QPoint(200, 170))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 170))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.view_state().center_y == pytest.approx(before.center_y - 20)
    assert painter.is_empty()


def test_bracket_keys_change_the_brush(canvas, qtbot):
    painter = _editing_canvas(canvas)
    painter.set_brush_size(50)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert painter.brush_size == 60
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert painter.brush_size == 42
    painter.set_brush_size(1)
    canvas.brush_larger()
    assert painter.brush_size == 2
    canvas.brush_smaller()
    canvas.brush_smaller()
    assert painter.brush_size == 1


def test_transparent_image_shows_a_checkerboard(canvas):
    image = QImage(100, 100, QImage.Format.Format_RGBA8888)
    image.fill(Qt.GlobalColor.transparent)
    canvas.set_image(image)
    canvas.zoom_actual()
    grabbed = canvas.grab().toImage()
    rect = canvas.image_rect_in_widget().toRect()
    colours = {grabbed.pixel(x, rect.top() + 4) for x in range(rect.left(), rect.left() + 32)}
    assert len(colours) == 2


def _drag_and_drop(canvas: CanvasView, path) -> bool:
    """Send a drag-enter then a drop of `path`; True if the canvas accepted the drag."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with warnings.catch_warnings():
        # PySide6 marks the QPoint constructor deprecated, yet it is the one QDragEnterEvent has.
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(50, 50), *args)
    QApplication.sendEvent(canvas, enter)  # Qt delivers a drop only after an accepted enter
    QApplication.sendEvent(canvas, QDropEvent(QPointF(50, 50), *args))
    return enter.isAccepted()


def test_dropping_an_image_file_emits_its_path(canvas, qtbot, tmp_path):
    path = tmp_path / "dropped.png"
    _solid(4, 4).save(str(path))
    with qtbot.waitSignal(canvas.image_dropped) as blocker:
        assert _drag_and_drop(canvas, path)
    assert blocker.args == [str(path)]


def test_dropping_another_file_is_ignored(canvas, qtbot, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with qtbot.assertNotEmitted(canvas.image_dropped):
        assert not _drag_and_drop(canvas, path)
