"""Conversions between PIL images (what the engine speaks) and QImages (what widgets draw).

PIL.ImageQt is avoided on purpose: it has changed behaviour across Pillow releases and can hand
back a QImage that borrows Python memory. Every QImage made here owns its pixels.
"""

from __future__ import annotations

from PIL import Image
from PySide6.QtGui import QImage

# PIL mode -> (QImage format, bytes per pixel). Other modes are converted to one of these first.
_PIL_TO_QT = {
    "RGB": (QImage.Format.Format_RGB888, 3),
    "RGBA": (QImage.Format.Format_RGBA8888, 4),
    "L": (QImage.Format.Format_Grayscale8, 1),
}


def _normalised_pil(image: Image.Image) -> Image.Image:
    """Bring any PIL mode to RGB, RGBA or L, keeping transparency where the image has it."""
    if image.mode in _PIL_TO_QT:
        return image
    if image.mode == "1" or image.mode.startswith("I") or image.mode == "F":
        # Bilevel and high-bit-depth grayscale: 8-bit gray is what a screen can show anyway.
        return image.convert("L")
    has_alpha = image.mode in ("LA", "La", "RGBa", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def pil_to_qimage(image: Image.Image) -> QImage:
    """Copy a PIL image into a new QImage (RGB888, RGBA8888 or Grayscale8) that owns its memory."""
    image = _normalised_pil(image)
    qt_format, bytes_per_pixel = _PIL_TO_QT[image.mode]
    width, height = image.size
    data = image.tobytes()
    # The QImage borrows `data` until copy() detaches it; the copy is what we return.
    view = QImage(data, width, height, width * bytes_per_pixel, qt_format)
    return view.copy()


def qimage_to_pil(image: QImage) -> Image.Image:
    """Copy a QImage into a PIL image: mode L for grayscale, RGBA if it has alpha, else RGB."""
    if image.isNull():
        raise ValueError("cannot convert a null QImage")
    if image.format() in (QImage.Format.Format_Grayscale8, QImage.Format.Format_Grayscale16):
        converted, mode = image.convertToFormat(QImage.Format.Format_Grayscale8), "L"
    elif image.hasAlphaChannel():
        # RGBA8888 is straight (not premultiplied) alpha, which is what PIL's RGBA means.
        converted, mode = image.convertToFormat(QImage.Format.Format_RGBA8888), "RGBA"
    else:
        converted, mode = image.convertToFormat(QImage.Format.Format_RGB888), "RGB"
    size = (converted.width(), converted.height())
    # Rows are padded to 4 bytes in a QImage; pass the stride so PIL skips the padding.
    data = bytes(converted.constBits())
    return Image.frombytes(mode, size, data, "raw", mode, converted.bytesPerLine())
