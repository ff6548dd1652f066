"""Compare results: side by side, a wipe between two, or a grid; zoom and pan move all panes.

Under each image go only the parameters that differ between the images (seed, steps, ...),
from studio.core.compare.differing_parameters, so the eye goes to what changed.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from enum import Enum

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from studio.core.compare import differing_parameters
from studio.ui.canvas import CanvasView, ViewState
from studio.ui.canvas_layers import ImageLayer

MAX_VALUE_CHARS = 48  # longer values (prompts) are cut in the caption; the tooltip has them whole
WIPE_GRAB_DISTANCE = 8  # logical px either side of the wipe line that grab it


@dataclass(frozen=True)
class CompareItem:
    image: QImage
    title: str = ""
    params: dict[str, object] = field(default_factory=dict)


class CompareMode(Enum):
    SIDE_BY_SIDE = "Side by side"
    WIPE = "Wipe"
    GRID = "Grid"


class WipeCanvas(CanvasView):
    """Two images in one frame: `first` left of a vertical line, `second` right of it.

    The line sits at a fraction of the widget's width, so it stays in reach while zooming and
    panning; dragging near it moves it, dragging elsewhere pans.
    """

    wipe_position_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._first: ImageLayer | None = None
        self._wipe_position = 0.5
        self._dragging_line = False

    def set_images(self, first: QImage, second: QImage) -> None:
        self._first = ImageLayer(first)
        self.set_image(second)  # the second sets the frame; the first is drawn into the same rect

    def wipe_position(self) -> float:
        return self._wipe_position

    def set_wipe_position(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if fraction != self._wipe_position:
            self._wipe_position = fraction
            self.update()
            self.wipe_position_changed.emit(fraction)

    def _line_x(self) -> float:
        return self._wipe_position * self.width()

    def _paint_content(self, painter: QPainter, target: QRectF) -> None:
        super()._paint_content(painter, target)
        if self._first is None:
            return
        painter.save()
        left_of_line = QRectF(0, 0, self._line_x(), self.height())
        painter.setClipRect(left_of_line, Qt.ClipOperation.IntersectClip)
        self._first.draw(painter, target, self.zoom())
        painter.restore()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        x = round(self._line_x())
        # A highlight-coloured line with a dark edge, and a round grip in the middle.
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Window), 3))
        painter.drawLine(x, 0, x, self.height())
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 1))
        painter.drawLine(x, 0, x, self.height())
        painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Window), 2))
        painter.drawEllipse(QPointF(x, self.height() / 2), 7, 7)
        painter.end()

    def _near_line(self, pos: QPointF) -> bool:
        return abs(pos.x() - self._line_x()) <= WIPE_GRAB_DISTANCE

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._near_line(event.position()):
            self._dragging_line = True
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._dragging_line:
            self.set_wipe_position(event.position().x() / max(1, self.width()))
            event.accept()
            return
        super().mouseMoveEvent(event)
        if self._near_line(event.position()):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            self._update_cursor()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._dragging_line and event.button() == Qt.MouseButton.LeftButton:
            self._dragging_line = False
            event.accept()
            return
        super().mouseReleaseEvent(event)


def caption_html(title: str, differing: dict[str, object]) -> str:
    """Rich text for under an image: the title, then `key value` for each differing parameter."""
    parts = [f"<b>{html.escape(title)}</b>"] if title else []
    if differing:
        pairs = [
            f"{html.escape(key.replace('_', ' '))}&nbsp;<b>{html.escape(_short(value))}</b>"
            for key, value in differing.items()
        ]
        parts.append(" &nbsp;·&nbsp; ".join(pairs))
    return "<br>".join(parts)


def _short(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        text = f"{value[0]}x{value[1]}"  # sizes
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


class CaptionLabel(QLabel):
    """A word-wrapped label whose height hint is the height it needs at its actual width.

    QLabel's own hint wraps at a guessed width, which leaves tall empty caption rows in a grid.
    """

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().sizeHint()
        if self.width() > 0:
            hint.setHeight(self.heightForWidth(self.width()))
        return hint

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(0, self.sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()


def _caption_label(title: str, differing: dict[str, object], align: Qt.AlignmentFlag) -> QLabel:
    label = CaptionLabel(caption_html(title, differing))
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setAlignment(align | Qt.AlignmentFlag.AlignTop)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
    full = [f"{key}: {value}" for key, value in differing.items()]
    label.setToolTip("\n".join([title, *full]) if full else title)
    return label


class CompareView(QWidget):
    """Two or more images with synced zoom and pan, and what differs between them."""

    mode_changed = Signal(object)  # CompareMode

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[CompareItem] = []
        self._mode = CompareMode.SIDE_BY_SIDE
        self._canvases: list[CanvasView] = []
        self._captions: list[QLabel] = []
        self._view_state: ViewState | None = None
        self._syncing = False

        self._toolbar = QToolBar("Compare")
        self._toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._mode_actions: dict[CompareMode, QAction] = {}
        group = QActionGroup(self)
        for mode in CompareMode:
            action = self._toolbar.addAction(mode.value)
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, m=mode: self.set_mode(m))
            group.addAction(action)
            self._mode_actions[mode] = action
        self._toolbar.addSeparator()
        self._toolbar.addAction("Fit", self.zoom_fit).setToolTip("Fit each image in its pane")
        actual = self._toolbar.addAction("100%", self.zoom_actual)
        actual.setToolTip("One image pixel per screen pixel")

        self._panes = QWidget()
        self._grid = QGridLayout(self._panes)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._toolbar)
        layout.addWidget(self._panes, 1)
        self._sync_mode_actions()

    # -- public ----------------------------------------------------------------------------

    def items(self) -> list[CompareItem]:
        return list(self._items)

    def set_items(self, items: list[CompareItem]) -> None:
        """Show `items`; picks side by side for 2-3 images and a grid for more."""
        self._items = list(items)
        self._view_state = None
        self._mode = CompareMode.GRID if len(self._items) > 3 else CompareMode.SIDE_BY_SIDE
        self._rebuild()

    def mode(self) -> CompareMode:
        return self._mode

    def set_mode(self, mode: CompareMode) -> None:
        if mode == CompareMode.WIPE and len(self._items) != 2:
            mode = CompareMode.SIDE_BY_SIDE if len(self._items) <= 3 else CompareMode.GRID
        if mode != self._mode:
            self._mode = mode
            self._rebuild()
            self.mode_changed.emit(mode)
        self._sync_mode_actions()

    def canvases(self) -> list[CanvasView]:
        """The canvases now shown: one per image, or the single WipeCanvas in wipe mode."""
        return list(self._canvases)

    def captions(self) -> list[QLabel]:
        return list(self._captions)

    def wipe_canvas(self) -> WipeCanvas | None:
        canvas = self._canvases[0] if self._canvases else None
        return canvas if isinstance(canvas, WipeCanvas) else None

    def zoom_fit(self) -> None:
        for canvas in self._canvases:
            canvas.zoom_fit()

    def zoom_actual(self) -> None:
        if self._canvases:
            self._canvases[0].zoom_actual()  # the others follow through the sync

    # -- building --------------------------------------------------------------------------

    def _rebuild(self) -> None:
        while self._grid.count():
            widget = self._grid.takeAt(0).widget()
            if widget is not None:
                # deleteLater alone leaves the old pane drawn until the event loop runs again.
                widget.hide()
                widget.setParent(None)
                widget.deleteLater()
        # A grid layout keeps its old rows and columns: reset their stretch before reuse.
        for row in range(self._grid.rowCount()):
            self._grid.setRowStretch(row, 0)
        for column in range(self._grid.columnCount()):
            self._grid.setColumnStretch(column, 0)
        self._canvases, self._captions = [], []
        differing = differing_parameters([item.params for item in self._items])
        if self._mode == CompareMode.WIPE:
            self._build_wipe(differing)
        else:
            self._build_panes(differing)
        for canvas in self._canvases:
            canvas.setAcceptDrops(False)  # nothing here opens a dropped file
            canvas.view_changed.connect(lambda state, source=canvas: self._follow(source, state))
            if self._view_state is not None:
                canvas.set_view_state(self._view_state)
        self._sync_mode_actions()

    def _build_panes(self, differing: list[dict[str, object]]) -> None:
        count = len(self._items)
        columns = math.ceil(math.sqrt(count)) if self._mode == CompareMode.GRID else count
        for index, (item, diff) in enumerate(zip(self._items, differing, strict=True)):
            row, column = divmod(index, max(1, columns))
            canvas = CanvasView()
            canvas.set_image(item.image)
            caption = _caption_label(item.title, diff, Qt.AlignmentFlag.AlignHCenter)
            # Canvases and captions sit in separate grid rows so panes line up whatever the
            # captions' heights.
            self._grid.addWidget(canvas, 2 * row, column)
            self._grid.addWidget(caption, 2 * row + 1, column)
            self._grid.setRowStretch(2 * row, 1)
            self._grid.setColumnStretch(column, 1)
            self._canvases.append(canvas)
            self._captions.append(caption)

    def _build_wipe(self, differing: list[dict[str, object]]) -> None:
        first, second = self._items
        canvas = WipeCanvas()
        canvas.set_images(first.image, second.image)
        # Arrows say which side of the line each caption belongs to.
        left = _caption_label(f"◀ {first.title}", differing[0], Qt.AlignmentFlag.AlignLeft)
        right = _caption_label(f"{second.title} ▶", differing[1], Qt.AlignmentFlag.AlignRight)
        self._grid.addWidget(canvas, 0, 0, 1, 2)
        self._grid.addWidget(left, 1, 0)
        self._grid.addWidget(right, 1, 1)
        self._grid.setRowStretch(0, 1)
        self._grid.setColumnStretch(0, 1)
        self._grid.setColumnStretch(1, 1)
        self._canvases.append(canvas)
        self._captions.extend([left, right])

    def _sync_mode_actions(self) -> None:
        self._mode_actions[CompareMode.WIPE].setEnabled(len(self._items) == 2)
        self._mode_actions[CompareMode.GRID].setEnabled(len(self._items) > 2)
        self._mode_actions[self._mode].setChecked(True)

    def _follow(self, source: CanvasView, state: ViewState) -> None:
        """Move every other canvas to where `source` went (the flag stops echoes)."""
        if self._syncing:
            return
        self._view_state = state
        self._syncing = True
        try:
            for canvas in self._canvases:
                if canvas is not source:
                    canvas.set_view_state(state)
        finally:
            self._syncing = False


class CompareDialog(QDialog):
    """A window around CompareView, with a Close button."""

    def __init__(self, items: list[CompareItem] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Compare")
        self._view = CompareView()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self._view, 1)
        layout.addWidget(buttons)
        self.resize(1200, 760)
        if items:
            self.set_items(items)

    def compare_view(self) -> CompareView:
        return self._view

    def set_items(self, items: list[CompareItem]) -> None:
        self._view.set_items(items)
        count = len(items)
        self.setWindowTitle(f"Compare {count} images" if count > 1 else "Compare")
