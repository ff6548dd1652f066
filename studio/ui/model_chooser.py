"""The model browser: every listed model by family, with what it is, where it was found and the
last image made with it; type to filter. A model that cannot run says why and cannot be picked.

A view of `ModelList`: it never touches the engine; a pick is emitted as `chosen(model id)`.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.model_groups import filter_groups
from studio.core.models import ModelInfo
from studio.ui.model_list import THUMBNAIL, ModelList
from studio.ui.param_widgets import size_text

MODEL_ROLE = Qt.ItemDataRole.UserRole
LIST_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


class ModelChooser(QDialog):
    chosen = Signal(str)  # model id

    def __init__(self, models: ModelList, current: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a model")
        self.resize(640, 560)
        self._models = models
        self._current = current
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Type to filter: name, family, folder…")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setObjectName("modelBrowser")
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.status = QLabel()
        self.status.setObjectName("caption")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use Model")
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.buttons)
        layout.addLayout(bottom)

        self.filter.textChanged.connect(self._fill)
        self.filter.returnPressed.connect(self._pick_selected)
        self.filter.installEventFilter(self)  # arrows move through the list while typing
        self.list.itemActivated.connect(lambda _item: self._pick_selected())
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.buttons.accepted.connect(self._pick_selected)
        self.buttons.rejected.connect(self.reject)
        models.changed.connect(self._fill)
        models.thumbnails_changed.connect(self._fill)
        models.scan_changed.connect(self._show_scan)
        self._fill()
        self._show_scan()
        self.filter.setFocus()

    def visible_ids(self) -> list[str]:
        """The models listed now, in order (tests, and what a person sees)."""
        items = (self.list.item(row) for row in range(self.list.count()))
        return [item.data(MODEL_ROLE) for item in items if item.data(MODEL_ROLE)]

    def row_text(self, model_id: str) -> str:
        """The text shown for a listed model, without markup."""
        for row in range(self.list.count()):
            if self.list.item(row).data(MODEL_ROLE) == model_id:
                widget = self.list.itemWidget(self.list.item(row))
                return widget.findChild(QLabel, "details").text()
        return ""

    def select(self, model_id: str) -> bool:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(MODEL_ROLE) == model_id and item.flags() & Qt.ItemFlag.ItemIsSelectable:
                self.list.setCurrentItem(item)
                return True
        return False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (
            watched is self.filter
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in LIST_KEYS
        ):
            QApplication.sendEvent(self.list, event)
            return True
        return super().eventFilter(watched, event)

    def _fill(self) -> None:
        selected = self._selected_id() or self._current
        self.list.clear()
        for group in filter_groups(self._models.groups, self.filter.text()):
            header = QListWidgetItem(group.title)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            self.list.addItem(header)
            for info in group.models:
                self._add_model(info)
        if not self.select(selected):
            first = next(iter(self.visible_ids()), "")
            self.select(first)
        self._update_buttons()

    def _add_model(self, info: ModelInfo) -> None:
        item = QListWidgetItem()
        item.setData(MODEL_ROLE, info.id)
        item.setToolTip(str(info.path))
        if not info.usable:
            item.setFlags(Qt.ItemFlag.NoItemFlags)  # shown greyed, with the reason; not picked
        row = _ModelRow(info, self._models.thumbnails.get(info.id))
        item.setSizeHint(row.sizeHint())
        self.list.addItem(item)
        self.list.setItemWidget(item, row)

    def _selected_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(MODEL_ROLE) if item is not None else None

    def _update_buttons(self) -> None:
        info = self._models.info(self._selected_id() or "")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(info is not None and info.usable)

    def _pick_selected(self) -> None:
        info = self._models.info(self._selected_id() or "")
        if info is None or not info.usable:
            return
        self.chosen.emit(info.id)
        self.accept()

    def _show_scan(self) -> None:
        scan = self._models.scan
        if scan is not None:
            self.status.setText(f"Looking through model folders… {scan[0]} of {scan[1]}")
        else:
            usable = sum(m.usable for m in self._models.models)
            self.status.setText(f"{usable} of {len(self._models.models)} models can run here")


class _ModelRow(QWidget):
    """One model: thumbnail, name with its family badge, size, file size, folder, notes."""

    def __init__(self, info: ModelInfo, thumbnail: QImage | None) -> None:
        super().__init__()
        picture = QLabel()
        picture.setFixedSize(THUMBNAIL, THUMBNAIL)
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        picture.setObjectName("modelThumbnail")
        if thumbnail is not None:
            picture.setPixmap(QPixmap.fromImage(thumbnail))
        else:
            picture.setText("no image\nyet")
        title = QLabel(_title_html(info))
        details = QLabel(details_text(info))
        details.setObjectName("details")
        details.setWordWrap(True)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(title)
        text.addWidget(details)
        text.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(picture)
        layout.addLayout(text, 1)
        self.setEnabled(info.usable)


def _title_html(info: ModelInfo) -> str:
    badge = escape(info.family_label or info.family)
    built_in = " (built in)" if info.embedded else ""
    return (
        f"<b>{escape(info.name)}</b>{built_in}&nbsp;&nbsp;"
        f"<span style='background:#3b5b8c;color:white;'>&nbsp;{badge}&nbsp;</span>"
    )


def details_text(info: ModelInfo) -> str:
    """Native size, format and file size, where it was found; why it cannot run; notes."""
    facts = [f"{size_text(*info.native_size)} native", info.format]
    if info.file_bytes:
        facts[-1] += f" {_bytes_text(info.file_bytes)}"
    facts.append(str(info.path.parent))
    lines = [" \u00b7 ".join(facts)]
    if info.problem is not None:
        lines.append(f"Cannot run: {info.problem}")
    lines.extend(info.notes)
    return "\n".join(lines)


def _bytes_text(count: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count / 1e3:.0f} kB"
