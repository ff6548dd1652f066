"""CanvasView: one image with zoom, pan, live previews, drops, and mask painting.

Zoom 1.0 means one image pixel per physical screen pixel ("actual pixels"), so on a 2x screen the
widget's logical scale is zoom / devicePixelRatio. The view is described by a zoom and the image
point at its centre (`ViewState`), which is what two canvases exchange to stay in sync.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from studio.ui.canvas_layers import (
    MAX_ZOOM,
    MIN_ZOOM,
    ImageLayer,
    MaskOverlay,
    clamp_center,
    dropped_image_path,
    next_zoom_level,
    outline_rect,
    paint_brush_outline,
    paint_checkerboard,
)
from studio.ui.mask_painter import MaskPainter

WHEEL_ZOOM_STEP = 1.25  # per wheel notch
FIT_MARGIN = 8  # logical px left around a fitted image
KEEP_VISIBLE = 32  # logical px of the image that panning always leaves on screen
BRUSH_STEP = 1.2  # [ and ] scale the brush by this


@dataclass(frozen=True)
class ViewState:
    """What a view shows: `zoom` (1.0 = actual pixels) and the image point at its centre.

    `fitted` says the view is following "fit to window", so a synced view fits itself too
    (panes of different sizes then each show their whole image).
    """

    zoom: float
    center_x: float
    center_y: float
    fitted: bool = False

    @property
    def center(self) -> QPointF:
        return QPointF(self.center_x, self.center_y)


class CanvasView(QWidget):
    """Shows one image; paints into a MaskPainter when mask editing is on."""

    zoom_changed = Signal(float)
    view_changed = Signal(object)  # ViewState
    image_dropped = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)  # the brush circle follows the pointer without a button
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._layer: ImageLayer | None = None
        self._preview: QImage | None = None
        self._preview_size = QSize()
        self._zoom = 1.0
        self._center = QPointF()
        self._fit_mode = True  # follow widget resizes until the user zooms or pans
        self._mask_painter: MaskPainter | None = None
        self._mask_editing = False
        self._mask_visible = True
        self._overlay = MaskOverlay(QColor())
        self._pan_from: QPointF | None = None
        self._space_held = False
        self._painting = False
        self._pointer: QPointF | None = None
        self._placeholder = ""

    # -- image and preview -----------------------------------------------------------------

    def image(self) -> QImage | None:
        return self._layer.image if self._layer else None

    def set_image(self, image: QImage | None) -> None:
        """Show `image` (or nothing) and drop any preview.

        A new size refits the view; a same-size image (the next result) keeps zoom and pan.
        An attached MaskPainter of another size is resized to the image (which clears it).
        """
        old_size = self.content_size()
        self._layer = ImageLayer(image) if image is not None and not image.isNull() else None
        self._preview = None
        if self._layer and self._mask_painter and self._mask_painter.size() != image.size():
            self._mask_painter.resize_to(image.size())
        if self.content_size() != old_size or self._fit_mode:
            self.zoom_fit()
        self._update_cursor()
        self.update()

    def show_preview(self, preview: QImage, size: QSize | None = None) -> None:
        """Draw a (small) step preview smoothly stretched over the image, or over `size`.

        With no image and no `size`, the last preview size is kept, else the preview's own size.
        image() is unchanged; set_image() or clear_preview() removes the preview.
        """
        if preview.isNull():
            return
        old_size = self.content_size()
        if size is not None and not size.isEmpty():
            self._preview_size = QSize(size)
        elif self._preview_size.isEmpty():
            self._preview_size = preview.size()
        self._preview = preview
        if self.content_size() != old_size:
            self.zoom_fit()
        self.update()

    def clear_preview(self) -> None:
        self._preview = None
        self.update()

    def has_preview(self) -> bool:
        return self._preview is not None

    def content_size(self) -> QSize:
        """Size in image pixels of what is shown: the image, else the preview's target size."""
        if self._layer is not None:
            return self._layer.image.size()
        return QSize(self._preview_size) if self._preview is not None else QSize()

    def set_placeholder_text(self, text: str) -> None:
        """A hint drawn when there is nothing to show (e.g. "Drop an image here")."""
        self._placeholder = text
        self.update()

    # -- zoom and pan ----------------------------------------------------------------------

    def zoom(self) -> float:
        return self._zoom

    def view_state(self) -> ViewState:
        return ViewState(self._zoom, self._center.x(), self._center.y(), self._fit_mode)

    def set_view_transform(self, zoom: float, center: QPointF) -> None:
        """Show image point `center` in the middle at `zoom` (what a synced view calls)."""
        self._fit_mode = False
        self._apply_view(zoom, QPointF(center))

    def set_view_state(self, state: ViewState) -> None:
        if state.fitted:
            self.zoom_fit()
        else:
            self.set_view_transform(state.zoom, state.center)

    def zoom_fit(self) -> None:
        """Fit the whole image in the view (small images are enlarged), centred."""
        self._fit_mode = True
        content = self.content_size()
        if content.isEmpty():
            self._apply_view(1.0, QPointF())
            return
        width = max(1.0, self.width() - 2 * FIT_MARGIN)
        height = max(1.0, self.height() - 2 * FIT_MARGIN)
        logical = min(width / content.width(), height / content.height())
        center = QPointF(content.width() / 2, content.height() / 2)
        self._apply_view(logical * self._dpr(), center)

    def zoom_actual(self) -> None:
        """100%: one image pixel per screen pixel, keeping the point in the middle."""
        self._zoom_around(1.0, self._widget_center())

    def zoom_in(self) -> None:
        self._zoom_around(next_zoom_level(self._zoom, up=True), self._widget_center())

    def zoom_out(self) -> None:
        self._zoom_around(next_zoom_level(self._zoom, up=False), self._widget_center())

    def zoom_at(self, zoom: float, widget_pos: QPointF) -> None:
        """Zoom keeping the image point under `widget_pos` where it is (what the wheel does)."""
        self._zoom_around(zoom, widget_pos)

    def pan_by(self, delta: QPointF) -> None:
        """Move the image by `delta` logical pixels on screen."""
        self._fit_mode = False
        self._apply_view(self._zoom, self._center - delta / self._scale())

    # -- coordinates -----------------------------------------------------------------------

    def map_to_image(self, widget_pos: QPointF) -> QPointF:
        return (QPointF(widget_pos) - self._widget_center()) / self._scale() + self._center

    def map_from_image(self, image_pos: QPointF) -> QPointF:
        return (QPointF(image_pos) - self._center) * self._scale() + self._widget_center()

    def image_rect_in_widget(self) -> QRectF:
        content = self.content_size()
        top_left = self.map_from_image(QPointF(0, 0))
        scale = self._scale()
        return QRectF(top_left.x(), top_left.y(), content.width() * scale, content.height() * scale)

    def _widget_rect_of(self, image_rect: QRectF) -> QRect:
        top_left = self.map_from_image(image_rect.topLeft())
        return QRectF(top_left, image_rect.size() * self._scale()).toAlignedRect()

    def _scale(self) -> float:
        """Logical widget pixels per image pixel."""
        return self._zoom / self._dpr()

    def _dpr(self) -> float:
        return self.devicePixelRatioF() or 1.0

    def _widget_center(self) -> QPointF:
        return QPointF(self.width() / 2, self.height() / 2)

    def _zoom_around(self, zoom: float, widget_pos: QPointF) -> None:
        self._fit_mode = False
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        anchor = self.map_to_image(widget_pos)
        offset = (QPointF(widget_pos) - self._widget_center()) / (zoom / self._dpr())
        self._apply_view(zoom, anchor - offset)

    def _apply_view(self, zoom: float, center: QPointF) -> None:
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        center = self._keep_visible(zoom / self._dpr(), center)
        if math.isclose(zoom, self._zoom, rel_tol=1e-9) and center == self._center:
            return
        zoom_moved = not math.isclose(zoom, self._zoom, rel_tol=1e-9)
        self._zoom, self._center = zoom, center
        self.update()
        if zoom_moved:
            self.zoom_changed.emit(zoom)
        self.view_changed.emit(self.view_state())

    def _keep_visible(self, scale: float, center: QPointF) -> QPointF:
        """Shift `center` so at least KEEP_VISIBLE px of the image stay on screen each way."""
        content = self.content_size()
        if content.isEmpty():
            return center
        return QPointF(
            clamp_center(center.x(), content.width(), self.width(), scale, KEEP_VISIBLE),
            clamp_center(center.y(), content.height(), self.height(), scale, KEEP_VISIBLE),
        )

    # -- mask ------------------------------------------------------------------------------

    def mask_painter(self) -> MaskPainter | None:
        return self._mask_painter

    def set_mask_painter(self, painter: MaskPainter | None) -> None:
        if self._mask_painter is painter:
            return
        if self._mask_painter is not None:
            self._end_painting()
            self._mask_painter.region_changed.disconnect(self._on_mask_region_changed)
            self._mask_painter.brush_size_changed.disconnect(self._on_brush_size_changed)
            self._mask_painter.style.changed.disconnect(self._on_mask_style_changed)
        self._mask_painter = painter
        self._overlay = MaskOverlay(painter.style.qcolor() if painter else QColor())
        if painter is not None:
            painter.region_changed.connect(self._on_mask_region_changed)
            painter.brush_size_changed.connect(self._on_brush_size_changed)
            painter.style.changed.connect(self._on_mask_style_changed)
            image = self.image()
            if image is not None and painter.size() != image.size():
                painter.resize_to(image.size())
            self._on_mask_region_changed(painter.mask().rect())
        self._update_cursor()
        self.update()

    def is_mask_editing(self) -> bool:
        return self._mask_editing

    def set_mask_editing(self, on: bool) -> None:
        """On: left drag paints the mask, brush circle shown. Off: left drag pans, mask faint."""
        if not on:
            self._end_painting()
        self._mask_editing = bool(on)
        self._update_cursor()
        self.update()

    def set_mask_visible(self, visible: bool) -> None:
        """Hide the overlay altogether (e.g. when showing results rather than the input)."""
        self._mask_visible = bool(visible)
        self.update()

    def _mask_shown(self) -> bool:
        painter = self._mask_painter
        return self._mask_visible and painter is not None and painter.style.shown

    def brush_smaller(self) -> None:
        if self._mask_painter is not None:
            size = self._mask_painter.brush_size
            self._mask_painter.set_brush_size(min(size - 1, round(size / BRUSH_STEP)))

    def brush_larger(self) -> None:
        if self._mask_painter is not None:
            size = self._mask_painter.brush_size
            self._mask_painter.set_brush_size(max(size + 1, round(size * BRUSH_STEP)))

    def _on_mask_region_changed(self, rect: QRect) -> None:
        if self._mask_painter is None:
            return
        rect = self._overlay.update_region(self._mask_painter.mask(), rect)
        if not rect.isEmpty():
            self.update(self._widget_rect_of(QRectF(rect)).adjusted(-2, -2, 2, 2))

    def _on_brush_size_changed(self, _size: int) -> None:
        self.update()

    def _on_mask_style_changed(self) -> None:
        if self._mask_painter is None:
            return
        self._overlay.tint = self._mask_painter.style.qcolor()
        self._overlay.image = None  # re-tint all of it
        self._on_mask_region_changed(self._mask_painter.mask().rect())
        self.update()

    def _end_painting(self) -> None:
        if self._painting and self._mask_painter is not None:
            self._mask_painter.end_stroke()
        self._painting = False

    def _brush_active(self) -> bool:
        painter = self._mask_painter
        if not self._mask_editing or painter is None or self._layer is None:
            return False
        return painter.size() == self._layer.image.size()

    # -- events ----------------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        # The backdrop is a shade darker than the window so the image's edges read clearly.
        backdrop = self.palette().color(QPalette.ColorRole.Window).darker(125)
        painter.fillRect(event.rect(), backdrop)
        target = self.image_rect_in_widget()
        if self.content_size().isEmpty():
            self._paint_placeholder(painter)
        else:
            image = self.image()
            if image is None or image.hasAlphaChannel():
                paint_checkerboard(painter, target, self.palette())
            self._paint_content(painter, target)
            if self._preview is not None:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(target, self._preview, QRectF(self._preview.rect()))
            # The mask belongs to the image: not drawn without one, nor over a step preview.
            if self._mask_shown() and self._layer is not None and self._preview is None:
                style = self._mask_painter.style
                self._overlay.draw(painter, target, self._zoom, style.opacity, self._mask_editing)
        self._paint_brush_outline(painter)
        painter.end()

    def _paint_content(self, painter: QPainter, target: QRectF) -> None:
        """Draw the image into `target`; the compare wipe overrides this to draw two."""
        if self._layer is not None:
            self._layer.draw(painter, target, self._zoom)

    def _paint_brush_outline(self, painter: QPainter) -> None:
        if self._pointer is not None and self._brush_active() and not self._panning_mode():
            radius = self._brush_radius_on_screen()
            paint_brush_outline(painter, self.palette(), self._pointer, radius)

    def _paint_placeholder(self, painter: QPainter) -> None:
        if not self._placeholder:
            return
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)

    def _brush_radius_on_screen(self) -> float:
        size = self._mask_painter.brush_size if self._mask_painter else 1
        return max(1.5, size / 2 * self._scale())

    def _brush_outline_rect(self) -> QRect:
        if self._pointer is None:
            return QRect()
        return outline_rect(self._pointer, self._brush_radius_on_screen())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._fit_mode:
            self.zoom_fit()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.DevicePixelRatioChange and self._fit_mode:
            self.zoom_fit()
        return super().event(event)

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt override
        notches = event.angleDelta().y() / 120
        if notches and not self.content_size().isEmpty():
            self.zoom_at(self._zoom * WHEEL_ZOOM_STEP**notches, event.position())
        event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        button = event.button()
        left = button == Qt.MouseButton.LeftButton
        if button == Qt.MouseButton.MiddleButton or (left and self._panning_mode()):
            self._pan_from = event.position()
        elif left and self._brush_active():
            self._painting = True
            self._mask_painter.begin_stroke(self.map_to_image(event.position()))
        else:
            super().mousePressEvent(event)
            return
        self._update_cursor()
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        old_outline = self._brush_outline_rect()
        self._pointer = event.position()
        if self._pan_from is not None:
            self.pan_by(event.position() - self._pan_from)
            self._pan_from = event.position()
        elif self._painting and self._mask_painter is not None:
            self._mask_painter.extend_stroke(self.map_to_image(event.position()))
        if self._brush_active():
            self.update(old_outline)
            self.update(self._brush_outline_rect())
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
        elif event.button() == Qt.MouseButton.LeftButton:
            self._end_painting()
        self._update_cursor()
        event.accept()

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.update(self._brush_outline_rect())
        self._pointer = None
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
        elif key == Qt.Key.Key_BracketLeft:
            self.brush_smaller()
        elif key == Qt.Key.Key_BracketRight:
            self.brush_larger()
        elif key != Qt.Key.Key_Space:
            super().keyPressEvent(event)
            return
        self._update_cursor()
        self.update()

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self._update_cursor()
            self.update()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._space_held = False  # the release may go to another window
        self._update_cursor()
        super().focusOutEvent(event)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if dropped_image_path(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if dropped_image_path(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        path = dropped_image_path(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.image_dropped.emit(path)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(640, 480)

    def _panning_mode(self) -> bool:
        """Left drag pans: space is held, or there is no mask to paint."""
        return self._space_held or not self._brush_active()

    def _update_cursor(self) -> None:
        if self._pan_from is not None:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._panning_mode():
            if self.content_size().isEmpty():
                self.unsetCursor()
            else:
                self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.setCursor(Qt.CursorShape.BlankCursor)  # the brush outline is the pointer
