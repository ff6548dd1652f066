"""Reading images the user brings in (open, drop, paste, history), safe to run off the UI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage, QImageReader

from studio.core.errors import ImageError
from studio.core.image_info import ImageInfo, read_image_info

OPEN_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff);;All files (*)"


def read_image(path: Path) -> QImage:
    """Decode `path` (EXIF rotation applied) as RGB; raises ImageError with the reason."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        name = Path(path).name
        if Path(path).is_file() and Path(path).stat().st_size == 0:
            raise ImageError(f"cannot read {name}: the file is empty")
        raise ImageError(f"cannot read {name}: {reader.errorString()}")
    return image.convertToFormat(QImage.Format.Format_RGB888)


def read_parameters(path: Path) -> ImageInfo | None:
    """What an image says about how it was made, or None when it has no parameters."""
    try:
        info = read_image_info(Path(path))
    except ImageError:
        return None
    return info if info.request is not None else None


def read_image_and_info(path: Path) -> tuple[QImage, ImageInfo]:
    """The image and what it says about how it was made (any app's parameters)."""
    image = read_image(path)
    try:
        info = read_image_info(Path(path))
    except ImageError:  # Qt reads formats Pillow does not: the pixels are what matter
        info = ImageInfo("", "", "", {}, {}, None)
    return image, info
