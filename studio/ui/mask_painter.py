"""The inpainting mask as a model: a grayscale image the size of the input, white = repaint.

No widget here. The canvas turns mouse drags into `begin_stroke`/`extend_stroke`/`end_stroke`
in image coordinates and draws the mask as an overlay; the window reads `to_pil()` for the request.
Every edit is one step on `undo_stack`; a step keeps only the rectangle it touched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QUndoCommand, QUndoStack

from studio.core.errors import ImageError
from studio.ui.mask_style import MaskStyle
from studio.ui.qt_images import qimage_to_pil

MIN_BRUSH_SIZE = 1
MAX_BRUSH_SIZE = 512
MAX_FEATHER = 64
FIRST_BRUSH_FRACTION = 0.1  # of the image's short side: 6 px on a 64 px image, 51 on 512
UNDO_LIMIT = 64

_PAINT = QColor(255, 255, 255)
_ERASE = QColor(0, 0, 0)


def gray_pixels(image: QImage) -> np.ndarray:
    """A copy of a Grayscale8 QImage's pixels as a (height, width) uint8 array, no row padding."""
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width()].copy()


def _blank_mask(size: QSize) -> QImage:
    mask = QImage(size, QImage.Format.Format_Grayscale8)
    mask.fill(0)
    return mask


class _MaskEdit(QUndoCommand):
    """One undoable edit: the pixels of `rect` before and after it."""

    def __init__(self, painter: MaskPainter, text: str, rect: QRect, before: QImage, after: QImage):
        super().__init__(text)
        self._painter = painter
        self._rect = rect
        self._before = before
        self._after = after
        # The edit is on the mask already when pushed: the stack's first redo() must not repeat it.
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self._painter._put_pixels(self._rect, self._after)

    def undo(self) -> None:
        self._painter._put_pixels(self._rect, self._before)


class MaskPainter(QObject):
    """A Format_Grayscale8 mask with brush strokes, global edits, undo, and PNG load/save."""

    changed = Signal()
    region_changed = Signal(QRect)  # the image-coordinate rectangle that changed
    brush_size_changed = Signal(int)
    eraser_changed = Signal(bool)
    feather_changed = Signal(int)

    def __init__(self, size: QSize | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mask = _blank_mask(size if size is not None else QSize(0, 0))
        self._brush_size = 48
        self._eraser = False
        self._feather = 8
        self._undo_stack = QUndoStack(self)
        self._undo_stack.setUndoLimit(UNDO_LIMIT)
        self._stroke_before: QImage | None = None
        self._stroke_rect = QRect()
        self._last_point = QPointF()
        self.style = MaskStyle(self)

    # -- state -----------------------------------------------------------------------------

    def size(self) -> QSize:
        return self._mask.size()

    def mask(self) -> QImage:
        """The mask (implicitly shared: later painting detaches it from the caller's copy)."""
        return self._mask

    def is_empty(self) -> bool:
        """True when nothing would be repainted: no pixel above zero (or no image at all)."""
        if self._mask.isNull():
            return True
        return not gray_pixels(self._mask).any()

    @property
    def undo_stack(self) -> QUndoStack:
        return self._undo_stack

    @property
    def brush_size(self) -> int:
        """Brush diameter in image pixels."""
        return self._brush_size

    @brush_size.setter
    def brush_size(self, size: int) -> None:
        self.set_brush_size(size)

    def set_brush_size(self, size: int) -> None:
        size = max(MIN_BRUSH_SIZE, min(MAX_BRUSH_SIZE, int(size)))
        if size != self._brush_size:
            self._brush_size = size
            self.brush_size_changed.emit(size)

    @property
    def eraser(self) -> bool:
        return self._eraser

    @eraser.setter
    def eraser(self, on: bool) -> None:
        self.set_eraser(on)

    def set_eraser(self, on: bool) -> None:
        if bool(on) != self._eraser:
            self._eraser = bool(on)
            self.eraser_changed.emit(self._eraser)

    @property
    def feather(self) -> int:
        """Soft edge in pixels for the engine's mask_feather; the painted mask stays crisp."""
        return self._feather

    @feather.setter
    def feather(self, pixels: int) -> None:
        self.set_feather(pixels)

    def set_feather(self, pixels: int) -> None:
        pixels = max(0, min(MAX_FEATHER, int(pixels)))
        if pixels != self._feather:
            self._feather = pixels
            self.feather_changed.emit(pixels)

    def resize_to(self, size: QSize) -> None:
        """Start over for a new input image: a cleared mask of `size`, no undo history.

        The brush keeps its size relative to the image (the first image caps it at a tenth
        of its short side), so a brush made for 512 px does not cover a 64 px image.
        """
        old = self._mask.size()
        self._stroke_before = None
        self._mask = _blank_mask(size)
        self._undo_stack.clear()
        self._fit_brush(old, size)
        self._emit_changed(self._mask.rect())

    def tool_settings(self) -> dict[str, Any]:
        """Brush size, feather and overlay style, for the session."""
        return {"brush_size": self._brush_size, "feather": self._feather, **self.style.to_dict()}

    def restore_tool_settings(self, data: dict[str, Any]) -> None:
        """Take saved tool settings; missing or malformed values keep the current ones."""
        for key, apply in (("brush_size", self.set_brush_size), ("feather", self.set_feather)):
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                apply(value)
        self.style.restore(data)

    def _fit_brush(self, old: QSize, new: QSize) -> None:
        short = min(new.width(), new.height())
        if short <= 0:
            return
        if old.isEmpty():
            self.set_brush_size(min(self._brush_size, round(short * FIRST_BRUSH_FRACTION)))
        else:
            self.set_brush_size(round(self._brush_size * short / min(old.width(), old.height())))

    # -- strokes ---------------------------------------------------------------------------

    def begin_stroke(self, point: QPointF) -> None:
        """Start a stroke at `point` (image coordinates) with a round dab of the brush."""
        if self._stroke_before is not None:
            self.end_stroke()
        if self._mask.isNull():
            return
        self._stroke_before = self._mask.copy()
        self._stroke_rect = QRect()
        self._last_point = QPointF(point)
        self._paint_segment(point, point)

    def extend_stroke(self, point: QPointF) -> None:
        if self._stroke_before is None:
            return
        self._paint_segment(self._last_point, point)
        self._last_point = QPointF(point)

    def end_stroke(self) -> None:
        """Finish the stroke: everything since begin_stroke becomes one undo step."""
        before, self._stroke_before = self._stroke_before, None
        rect = self._stroke_rect.intersected(self._mask.rect())
        if before is None or rect.isEmpty():
            return
        text = "Erase mask" if self._eraser else "Paint mask"
        self._undo_stack.push(_MaskEdit(self, text, rect, before.copy(rect), self._mask.copy(rect)))

    def _paint_segment(self, start: QPointF, end: QPointF) -> None:
        colour = _ERASE if self._eraser else _PAINT
        painter = QPainter(self._mask)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if start == end:
            # A zero-length line draws nothing with some pens; a filled circle is the dab.
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            radius = self._brush_size / 2
            painter.drawEllipse(start, radius, radius)
        else:
            pen = QPen(colour, self._brush_size)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.drawLine(start, end)
        painter.end()
        margin = self._brush_size / 2 + 2  # antialiasing reaches a pixel past the radius
        touched = QRectF(start, end).normalized().adjusted(-margin, -margin, margin, margin)
        rect = touched.toAlignedRect().intersected(self._mask.rect())
        self._stroke_rect = self._stroke_rect.united(rect)
        self._emit_changed(rect)

    # -- whole-mask edits ------------------------------------------------------------------

    def clear(self) -> None:
        """Repaint nothing. A no-op (and no undo step) when the mask is already empty."""
        if not self.is_empty():
            self._replace_all("Clear mask", lambda mask: mask.fill(0))

    def fill(self) -> None:
        """Repaint everything. A no-op when every pixel is already white."""
        if not self._mask.isNull() and not (gray_pixels(self._mask) == 255).all():
            self._replace_all("Fill mask", lambda mask: mask.fill(255))

    def invert(self) -> None:
        if not self._mask.isNull():
            self._replace_all("Invert mask", lambda mask: mask.invertPixels())

    def set_mask(self, image: QImage, text: str = "Set mask") -> None:
        """Replace the mask with `image` as one undo step: scaled to size(), transparent = keep.

        With no size yet, the mask takes the image's size.
        """
        if self._mask.isNull():
            self.resize_to(image.size())
        target = self._mask.size()

        def draw(mask: QImage) -> None:
            mask.fill(0)  # transparent parts of a mask PNG mean "keep", i.e. black
            painter = QPainter(mask)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRect(0, 0, target.width(), target.height()), image)
            painter.end()

        self._replace_all(text, draw)

    def _replace_all(self, text: str, edit: Callable[[QImage], None]) -> None:
        self._stroke_before = None
        before = self._mask.copy()
        edit(self._mask)
        rect = self._mask.rect()
        self._undo_stack.push(_MaskEdit(self, text, rect, before, self._mask.copy()))
        self._emit_changed(rect)

    # -- files -----------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        if self._mask.isNull():
            raise ImageError("There is no mask to save: open an image first")
        if not self._mask.save(str(path), "PNG"):
            raise ImageError(f"Cannot write the mask to {path}")

    def load(self, path: str | Path) -> None:
        """Load a mask image (scaled to the current size if it differs), as one undo step."""
        image = QImage()
        if not Path(path).is_file() or not image.load(str(path)):
            raise ImageError(f"Cannot read a mask image from {path}")
        self.set_mask(image, "Load mask")

    def to_pil(self) -> Image.Image:
        """The mask as a PIL image of mode "L" (what GenerationRequest.mask takes)."""
        return qimage_to_pil(self._mask)

    # -- internals -------------------------------------------------------------------------

    def _put_pixels(self, rect: QRect, pixels: QImage) -> None:
        """Write saved pixels back (used by undo/redo)."""
        painter = QPainter(self._mask)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(rect.topLeft(), pixels)
        painter.end()
        self._emit_changed(rect)

    def _emit_changed(self, rect: QRect) -> None:
        self.region_changed.emit(rect)
        self.changed.emit()
