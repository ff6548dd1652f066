"""Reading images the user brings in (open, drop, paste, history), safe to run off the UI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage, QImageReader

from studio.core.errors import ImageError
from studio.core.metadata import read_png_request
from studio.core.request import GenerationRequest

OPEN_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff);;All files (*)"


def read_image(path: Path) -> QImage:
    """Decode `path` (EXIF rotation applied) as RGB; raises ImageError with the reason."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        raise ImageError(f"cannot read {Path(path).name}: {reader.errorString()}")
    return image.convertToFormat(QImage.Format.Format_RGB888)


def read_request(path: Path) -> GenerationRequest | None:
    """The generation parameters stored in an image, or None when it has none."""
    try:
        return read_png_request(Path(path))
    except ImageError:
        return None


def read_image_and_request(path: Path) -> tuple[QImage, GenerationRequest | None]:
    return read_image(path), read_request(path)
