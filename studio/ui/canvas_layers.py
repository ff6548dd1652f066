"""What CanvasView draws, one piece each: the image, the mask overlay, the checkerboard, the brush.

Kept apart from canvas.py so the view holds only state and input handling.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter, QPalette, QPen, QPixmap

from studio.ui.mask_painter import gray_pixels

MIN_ZOOM = 1 / 64
MAX_ZOOM = 64.0
ZOOM_LEVELS = (1 / 16, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 32)
CRISP_ZOOM = 2.0  # from here on pixels are drawn as squares, which is what masking needs

IDLE_MASK_OPACITY = 0.3  # relative to the chosen one, while not editing: a reminder only


class ImageLayer:
    """An image ready to draw at any zoom: a pixmap, plus a smooth downscale cached per size.

    Zoomed out, painter scaling is plain bilinear and shimmers; QImage.scaled averages properly.
    """

    def __init__(self, image: QImage) -> None:
        self.image = image
        self._pixmap = QPixmap.fromImage(image)
        self._scaled: QPixmap | None = None
        self._scaled_size = QSize()

    def draw(self, painter: QPainter, target: QRectF, zoom: float) -> None:
        """Draw into `target` (logical px); `zoom` is image px to physical px."""
        if zoom < 1:
            width = max(1, round(self.image.width() * zoom))
            size = QSize(width, max(1, round(self.image.height() * zoom)))
            if self._scaled is None or size != self._scaled_size:
                scaled = self.image.scaled(
                    size,
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                self._scaled, self._scaled_size = QPixmap.fromImage(scaled), size
            painter.drawPixmap(target, self._scaled, QRectF(self._scaled.rect()))
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < CRISP_ZOOM)
        painter.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))
        painter.restore()


class MaskOverlay:
    """A copy of the mask in the style's colour, updated one changed rectangle at a time."""

    def __init__(self, tint: QColor) -> None:
        self.image: QImage | None = None
        self.tint = tint

    def update_region(self, mask: QImage, rect: QRect) -> QRect:
        """Re-tint `rect` of `mask` (all of it if the size changed); returns what was redone."""
        if mask.isNull():
            self.image = None
            return QRect()
        if self.image is None or self.image.size() != mask.size():
            self.image = QImage(mask.size(), QImage.Format.Format_RGBA8888_Premultiplied)
            rect = mask.rect()
        rect = rect.intersected(mask.rect())
        if rect.isEmpty():
            return rect
        painter = QPainter(self.image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(rect.topLeft(), _tinted(gray_pixels(mask.copy(rect)), self.tint))
        painter.end()
        return rect

    def draw(
        self, painter: QPainter, target: QRectF, zoom: float, opacity: float, editing: bool
    ) -> None:
        if self.image is None:
            return
        painter.save()
        painter.setOpacity(opacity * (1.0 if editing else IDLE_MASK_OPACITY))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < CRISP_ZOOM)
        painter.drawImage(target, self.image, QRectF(self.image.rect()))
        painter.restore()


def _tinted(alpha_source: np.ndarray, tint: QColor) -> QImage:
    """A premultiplied RGBA patch of `tint` whose alpha is the mask (drawn at the opacity)."""
    height, width = alpha_source.shape
    alpha = alpha_source.astype(np.float32)
    pixels = np.empty((height, width, 4), np.uint8)
    for channel, value in enumerate((tint.red(), tint.green(), tint.blue())):
        pixels[..., channel] = np.rint(alpha * (value / 255)).astype(np.uint8)
    pixels[..., 3] = np.rint(alpha).astype(np.uint8)
    patch = QImage(
        pixels.tobytes(), width, height, width * 4, QImage.Format.Format_RGBA8888_Premultiplied
    )
    return patch.copy()  # detach from the temporary bytes


def paint_checkerboard(painter: QPainter, target: QRectF, palette: QPalette, cell: int = 8) -> None:
    """Squares in palette colours behind transparent images; they move with the image."""
    tile = QPixmap(2 * cell, 2 * cell)
    tile.fill(palette.color(QPalette.ColorRole.Base))
    tile_painter = QPainter(tile)
    alternate = palette.color(QPalette.ColorRole.AlternateBase)
    tile_painter.fillRect(0, 0, cell, cell, alternate)
    tile_painter.fillRect(cell, cell, cell, cell, alternate)
    tile_painter.end()
    painter.save()
    painter.setBrushOrigin(target.topLeft())
    painter.fillRect(target, tile)
    painter.restore()


def paint_brush_outline(
    painter: QPainter, palette: QPalette, center: QPointF, radius: float
) -> None:
    """A light ring over a dark halo (palette roles): visible over any image."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for role, width in ((QPalette.ColorRole.Window, 3.0), (QPalette.ColorRole.WindowText, 1.0)):
        painter.setPen(QPen(palette.color(role), width))
        painter.drawEllipse(center, radius, radius)
        painter.drawPoint(center)
    painter.restore()


def outline_rect(center: QPointF, radius: float) -> QRect:
    """The widget area a brush outline of `radius` covers, halo included."""
    radius += 3
    return QRectF(center.x() - radius, center.y() - radius, 2 * radius, 2 * radius).toAlignedRect()


def clamp_center(center: float, length: int, extent: int, scale: float, keep: float) -> float:
    """Clamp one axis of the view centre (image units) so `keep` logical px of image stay visible.

    Around the widget's middle the image spans (0 - center) * scale .. (length - center) * scale;
    its far edge must reach at least `keep` pixels into the widget on either side.
    """
    keep = min(keep, length * scale, extent) / scale
    low = -extent / 2 / scale + keep
    high = length + extent / 2 / scale - keep
    return min(max(center, low), high)


def next_zoom_level(zoom: float, up: bool) -> float:
    """The next standard zoom level above (or below) `zoom`."""
    if up:
        return next((level for level in ZOOM_LEVELS if level > zoom * 1.001), MAX_ZOOM)
    return next((level for level in reversed(ZOOM_LEVELS) if level < zoom / 1.001), MIN_ZOOM)


def dropped_image_path(mime: QMimeData) -> str | None:
    """The first local file in a drop whose suffix is a format Qt can read."""
    if not mime.hasUrls():
        return None
    suffixes = {bytes(fmt.data()).decode().lower() for fmt in QImageReader.supportedImageFormats()}
    for url in mime.urls():
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower().lstrip(".") in suffixes:
            return url.toLocalFile()
    return None
