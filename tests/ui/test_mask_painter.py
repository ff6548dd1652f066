"""MaskPainter: strokes, whole-mask edits, undo, and mask files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QSize
from PySide6.QtGui import QColor, QImage

from studio.core.errors import ImageError
from studio.ui.mask_painter import MaskPainter, gray_pixels


@pytest.fixture
def painter(qapp) -> MaskPainter:
    mask_painter = MaskPainter(QSize(100, 60))
    mask_painter.set_brush_size(10)
    return mask_painter


def _pixels(painter: MaskPainter) -> np.ndarray:
    return gray_pixels(painter.mask())


def _stroke(painter: MaskPainter, *points: tuple[float, float]) -> None:
    painter.begin_stroke(QPointF(*points[0]))
    for point in points[1:]:
        painter.extend_stroke(QPointF(*point))
    painter.end_stroke()


def test_new_mask_is_empty_grayscale_of_the_image_size(painter):
    assert painter.size() == QSize(100, 60)
    assert painter.mask().format() == QImage.Format.Format_Grayscale8
    assert painter.is_empty()
    assert not painter.undo_stack.canUndo()


def test_stroke_paints_under_the_brush_only(painter, qtbot):
    with qtbot.waitSignal(painter.changed):
        _stroke(painter, (20, 30), (60, 30))
    pixels = _pixels(painter)
    assert pixels[30, 20:61].min() == 255  # along the stroke
    assert pixels[26:35, 40].min() == 255  # across it: radius 5
    assert pixels[:20, :].max() == 0  # well above
    assert pixels[41:, :].max() == 0  # well below
    assert pixels[:, :12].max() == 0 and pixels[:, 69:].max() == 0  # beyond the round caps
    assert not painter.is_empty()


def test_a_click_paints_a_round_dab(painter):
    painter.set_brush_size(20)
    _stroke(painter, (50, 30))
    pixels = _pixels(painter)
    assert pixels[30, 50] == 255
    assert pixels[30, 42] == 255 and pixels[22, 50] == 255  # inside radius 10
    assert pixels[22, 42] < 128  # the square's corner is outside the circle
    assert pixels[30, 62] == 0


def test_whole_stroke_is_one_undo_step_and_undo_is_exact(painter):
    _stroke(painter, (10, 10), (90, 50))
    before = _pixels(painter)
    _stroke(painter, (10, 50), (50, 10), (90, 50), (90, 10))
    assert painter.undo_stack.count() == 2
    painter.undo_stack.undo()
    assert np.array_equal(_pixels(painter), before)
    painter.undo_stack.redo()
    redone = _pixels(painter)
    assert not np.array_equal(redone, before)
    painter.undo_stack.undo()
    painter.undo_stack.redo()
    assert np.array_equal(_pixels(painter), redone)
    painter.undo_stack.undo()
    painter.undo_stack.undo()
    assert painter.is_empty()
    assert not painter.undo_stack.canUndo() and painter.undo_stack.canRedo()


def test_eraser_paints_black(painter, qtbot):
    painter.fill()
    with qtbot.waitSignal(painter.eraser_changed):
        painter.eraser = True
    _stroke(painter, (50, 30))
    pixels = _pixels(painter)
    assert pixels[30, 50] == 0
    assert pixels[0, 0] == 255 and pixels[59, 99] == 255


def test_fill_invert_clear_each_one_undo_step(painter):
    _stroke(painter, (20, 20))
    painted = _pixels(painter)
    painter.invert()
    assert np.array_equal(_pixels(painter), 255 - painted)
    painter.fill()
    assert (_pixels(painter) == 255).all()
    painter.clear()
    assert painter.is_empty()
    assert painter.undo_stack.count() == 4  # stroke, invert, fill, clear
    painter.undo_stack.undo()
    assert (_pixels(painter) == 255).all()
    painter.undo_stack.undo()
    assert np.array_equal(_pixels(painter), 255 - painted)
    painter.undo_stack.undo()
    assert np.array_equal(_pixels(painter), painted)


def test_clearing_an_empty_mask_adds_no_undo_step(painter):
    painter.clear()
    assert painter.undo_stack.count() == 0


def test_resize_clears_mask_and_history(painter, qtbot):
    _stroke(painter, (20, 20))
    with qtbot.waitSignal(painter.changed):
        painter.resize_to(QSize(40, 30))
    assert painter.size() == QSize(40, 30)
    assert painter.is_empty()
    assert painter.undo_stack.count() == 0


def test_brush_size_and_feather_are_clamped(painter, qtbot):
    with qtbot.waitSignal(painter.brush_size_changed) as blocker:
        painter.brush_size = 2000
    assert blocker.args == [512]
    painter.set_brush_size(0)
    assert painter.brush_size == 1
    painter.feather = 100
    assert painter.feather == 64
    painter.set_feather(-3)
    assert painter.feather == 0


def test_save_and_load_round_trip(painter, tmp_path):
    _stroke(painter, (20, 20), (80, 40))
    saved = _pixels(painter)
    path = tmp_path / "mask.png"
    painter.save(path)
    painter.clear()
    painter.load(path)
    assert np.array_equal(_pixels(painter), saved)
    painter.undo_stack.undo()  # loading is undoable too
    assert painter.is_empty()


def test_load_scales_a_mask_of_another_size(painter, tmp_path):
    # Left half white at 200x120 becomes left half white at 100x60.
    big = Image.new("L", (200, 120), 0)
    big.paste(255, (0, 0, 100, 120))
    path = tmp_path / "big.png"
    big.save(path)
    painter.load(path)
    pixels = _pixels(painter)
    assert painter.size() == QSize(100, 60)
    assert pixels[:, :48].min() == 255
    assert pixels[:, 52:].max() == 0


def test_load_treats_transparent_as_keep(painter, tmp_path):
    strokes = Image.new("RGBA", (100, 60), (255, 255, 255, 0))
    strokes.paste((255, 255, 255, 255), (10, 10, 30, 30))
    path = tmp_path / "alpha.png"
    strokes.save(path)
    painter.load(path)
    pixels = _pixels(painter)
    assert pixels[20, 20] == 255
    assert pixels[50, 80] == 0


@pytest.mark.parametrize("content", [b"this is not a png", b""])
def test_load_of_junk_raises_image_error(painter, tmp_path, content):
    path = tmp_path / "junk.png"
    path.write_bytes(content)
    with pytest.raises(ImageError) as error:
        painter.load(path)
    assert "\n" not in str(error.value)
    assert painter.is_empty()


def test_load_of_missing_file_raises_image_error(painter, tmp_path):
    with pytest.raises(ImageError):
        painter.load(tmp_path / "nowhere.png")


def test_to_pil_is_mode_l_with_the_same_pixels(painter):
    _stroke(painter, (30, 30), (70, 30))
    pil = painter.to_pil()
    assert pil.mode == "L"
    assert pil.size == (100, 60)
    assert np.array_equal(np.asarray(pil), _pixels(painter))


def test_set_mask_accepts_colour_images(painter):
    image = QImage(100, 60, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter.set_mask(image)
    assert (_pixels(painter) == 255).all()
