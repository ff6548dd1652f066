"""PIL <-> QImage conversions keep every pixel and own their memory."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QColor, QImage

from studio.ui.qt_images import pil_to_qimage, qimage_to_pil


def _random_image(mode: str, size: tuple[int, int] = (37, 23)) -> Image.Image:
    # Odd widths make QImage pad its rows, which a stride bug would show.
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)


@pytest.mark.parametrize(
    ("mode", "qt_format"),
    [
        ("RGB", QImage.Format.Format_RGB888),
        ("RGBA", QImage.Format.Format_RGBA8888),
        ("L", QImage.Format.Format_Grayscale8),
    ],
)
def test_round_trip_is_exact(mode, qt_format):
    original = _random_image(mode)
    qimage = pil_to_qimage(original)
    assert qimage.format() == qt_format
    assert (qimage.width(), qimage.height()) == original.size
    back = qimage_to_pil(qimage)
    assert back.mode == mode
    assert np.array_equal(np.asarray(back), np.asarray(original))


def test_pixel_values_land_where_qt_expects_them():
    image = Image.new("RGB", (3, 2), (0, 0, 0))
    image.putpixel((2, 1), (10, 200, 30))
    qimage = pil_to_qimage(image)
    assert QColor(qimage.pixel(2, 1)).getRgb()[:3] == (10, 200, 30)
    assert QColor(qimage.pixel(0, 0)).getRgb()[:3] == (0, 0, 0)


def test_qimage_owns_its_memory():
    image = _random_image("RGB")
    expected = np.asarray(image).copy()
    qimage = pil_to_qimage(image)
    del image
    gc.collect()
    _ = [bytearray(len(expected.tobytes())) for _ in range(20)]  # reuse freed memory
    assert np.array_equal(np.asarray(qimage_to_pil(qimage)), expected)


def test_other_modes_are_normalised():
    palette = Image.new("P", (4, 4), 3)
    assert pil_to_qimage(palette).format() == QImage.Format.Format_RGB888
    with_alpha = Image.new("LA", (4, 4), (128, 64))
    converted = pil_to_qimage(with_alpha)
    assert converted.format() == QImage.Format.Format_RGBA8888
    assert QColor.fromRgba(converted.pixel(0, 0)).alpha() == 64


def test_premultiplied_qimage_comes_back_straight():
    qimage = QImage(2, 2, QImage.Format.Format_ARGB32_Premultiplied)
    qimage.fill(QColor(200, 100, 50, 128))
    pil = qimage_to_pil(qimage)
    assert pil.mode == "RGBA"
    red, green, blue, alpha = pil.getpixel((1, 1))
    assert alpha == 128
    assert abs(red - 200) <= 2 and abs(green - 100) <= 2 and abs(blue - 50) <= 2


def test_null_qimage_is_refused():
    with pytest.raises(ValueError):
        qimage_to_pil(QImage())
