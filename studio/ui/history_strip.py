"""The history strip: a thumbnail of every saved image, newest first, from the history database.

Entries and thumbnails load in the executor (tasks.in_thread), so a long history never blocks
the window; thumbnails are cached by path and only new ones are decoded on refresh.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QIcon, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError
from studio.core.history import HistoryEntry, HistoryStore
from studio.ui import tasks
from studio.ui.param_widgets import size_text

THUMB = 96
PAGE = 300  # entries shown; older ones stay in the database and on disk
ENTRY_ROLE = Qt.ItemDataRole.UserRole


class _ThumbList(QListWidget):
    """Thumbnails that can be dragged out as files (onto the canvas, or another app)."""

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:  # noqa: N802 - Qt override
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(item.data(ENTRY_ROLE).path)) for item in items])
        return data


class HistoryStrip(QWidget):
    show_requested = Signal(object)  # HistoryEntry
    use_as_input_requested = Signal(object)  # HistoryEntry
    restore_requested = Signal(object)  # HistoryEntry
    compare_requested = Signal(list)  # list[HistoryEntry], two or more
    message = Signal(str)  # a short note for the status bar
    failed = Signal(str)
    loaded = Signal()  # a refresh finished

    def __init__(self, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = HistoryStore(db_path)
        self._icons: dict[Path, QIcon] = {}
        self._generation = 0
        self._total = 0
        self._added: list[HistoryEntry] = []  # shown since the last refresh began, newest first
        self.list = _ThumbList()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(False)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 10, THUMB + 10))
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.setDragDropMode(QListWidget.DragDropMode.DragOnly)
        self.list.setHorizontalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setMinimumHeight(THUMB + 28)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.count_label = QLabel("No images yet")
        self.count_label.setObjectName("caption")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Select two or more images (Ctrl+click), then compare them")
        self.compare_button.setEnabled(False)
        header = QHBoxLayout()
        header.addWidget(self.count_label, 1)
        header.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.addLayout(header)
        layout.addWidget(self.list)
        self.list.itemClicked.connect(lambda item: self.show_requested.emit(_entry(item)))
        self.list.itemActivated.connect(lambda item: self.show_requested.emit(_entry(item)))
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.compare_button.clicked.connect(self._compare_selected)

    # -- loading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload entries and any thumbnails not cached yet, in the background."""
        self._generation += 1
        self._added = []
        tasks.spawn(self._reload(self._generation))

    async def _reload(self, generation: int) -> None:
        try:
            entries = await tasks.in_thread(self._store.entries, PAGE)
            total = await tasks.in_thread(self._store.count)
        except StudioError as exc:
            self.failed.emit(str(exc))
            return
        missing = [e.path for e in entries if e.path not in self._icons]
        thumbs = await tasks.in_thread(_read_thumbnails, missing)
        if generation != self._generation:
            return  # a newer refresh is on its way
        for path, image in thumbs.items():
            self._icons[path] = _icon(image)
        # Entries added in memory while this read ran may be newer than anything it found.
        newest = entries[0].id if entries else 0
        added = [e for e in self._added if e.id > newest]
        self._show([*added, *entries][:PAGE], total + len(added))
        self.loaded.emit()

    def add_entries(self, entries: list[HistoryEntry], images: list[QImage]) -> None:
        """Show entries just saved, with their images in memory: no file or database read."""
        for entry, image in zip(entries, images, strict=True):
            self._icons[entry.path] = _icon(_thumbnail(image))
        self._added[:0] = reversed(entries)
        shown = [*reversed(entries), *self.entries()][:PAGE]
        self._show(shown, self._total + len(entries))

    def _show(self, entries: list[HistoryEntry], total: int) -> None:
        """Update items in place: keep existing ones (and the selection), add and drop others."""
        wanted = {e.id for e in entries}
        for row in reversed(range(self.list.count())):
            if _entry(self.list.item(row)).id not in wanted:
                self.list.takeItem(row)
        for row, entry in enumerate(entries):
            item = self.list.item(row)
            if item is not None and _entry(item).id == entry.id:
                continue
            item = QListWidgetItem(self._icons[entry.path], "")
            item.setData(ENTRY_ROLE, entry)
            item.setToolTip(_tooltip(entry))
            item.setSizeHint(QSize(THUMB + 8, THUMB + 8))
            self.list.insertItem(row, item)
        shown = len(entries)
        self._total = total
        if not total:
            self.count_label.setText("No images yet")
            return
        count = f"{total} image{'s' * (total != 1)}"
        if shown < total:
            count += f", newest {shown} shown"
        self.count_label.setText(f"{count} · click to show, right-click for more")

    def entries(self) -> list[HistoryEntry]:
        return [_entry(self.list.item(row)) for row in range(self.list.count())]

    def selected_entries(self) -> list[HistoryEntry]:
        return [
            _entry(self.list.item(row))
            for row in range(self.list.count())
            if self.list.item(row).isSelected()
        ]

    def select(self, entry_ids: list[int]) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setSelected(_entry(item).id in entry_ids)

    # -- actions ---------------------------------------------------------------------------

    def _selection_changed(self) -> None:
        count = len(self.list.selectedItems())
        self.compare_button.setEnabled(count >= 2)
        self.compare_button.setText(f"Compare {count}" if count >= 2 else "Compare")

    def _compare_selected(self) -> None:
        selected = self.selected_entries()
        if len(selected) >= 2:
            self.compare_requested.emit(selected)

    def _context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        if not item.isSelected():
            self.list.setCurrentItem(item)
        entry = _entry(item)
        selected = self.selected_entries()
        menu = QMenu(self)
        menu.addAction("Show", lambda: self.show_requested.emit(entry))
        menu.addAction("Use as Input", lambda: self.use_as_input_requested.emit(entry))
        menu.addAction("Restore Parameters", lambda: self.restore_requested.emit(entry))
        menu.addAction(f"Copy Seed ({entry.seed})", lambda: self.copy_seed(entry))
        menu.addAction("Open Folder", lambda: self.open_folder(entry))
        compare = menu.addAction(f"Compare {len(selected)} Selected", self._compare_selected)
        compare.setEnabled(len(selected) >= 2)
        menu.addSeparator()
        menu.addAction("Remove from History", lambda: self.delete(selected, delete_files=False))
        menu.addAction("Delete Image File…", lambda: self._confirm_delete(selected))
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def copy_seed(self, entry: HistoryEntry) -> None:
        QGuiApplication.clipboard().setText(str(entry.seed))
        self.message.emit(f"Seed {entry.seed} copied")

    def open_folder(self, entry: HistoryEntry) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(entry.path.parent)))

    def _confirm_delete(self, entries: list[HistoryEntry]) -> None:
        count = len(entries)
        answer = QMessageBox.question(
            self,
            "Delete images",
            f"Delete {count} image file{'s' * (count != 1)} from disk? This cannot be undone.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(entries, delete_files=True)

    def delete(self, entries: list[HistoryEntry], delete_files: bool) -> None:
        tasks.spawn(self._delete([e.id for e in entries], delete_files))

    async def _delete(self, entry_ids: list[int], delete_files: bool) -> None:
        try:
            for entry_id in entry_ids:
                await tasks.in_thread(self._store.delete, entry_id, delete_files)
        except StudioError as exc:
            self.failed.emit(str(exc))
        self.refresh()


def _entry(item: QListWidgetItem) -> HistoryEntry:
    return item.data(ENTRY_ROLE)


def _tooltip(entry: HistoryEntry) -> str:
    prompt = entry.prompt if len(entry.prompt) <= 200 else entry.prompt[:197] + "…"
    size = size_text(entry.width, entry.height) if entry.width and entry.height else ""
    when = entry.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{prompt}\n{entry.model} · seed {entry.seed} · {size} · {when}"


def _read_thumbnails(paths: list[Path]) -> dict[Path, QImage | None]:
    """Decode small versions of `paths` (runs in the executor: QImage, not QPixmap)."""
    thumbs: dict[Path, QImage | None] = {}
    for path in paths:
        reader = QImageReader(str(path))
        size = reader.size()
        if size.isValid():
            reader.setScaledSize(size.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        thumbs[path] = None if image.isNull() else image
    return thumbs


def _thumbnail(image: QImage) -> QImage:
    return image.scaled(
        THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def _icon(image: QImage | None) -> QIcon:
    if image is None:
        pixmap = QPixmap(THUMB, THUMB)
        pixmap.fill(Qt.GlobalColor.darkGray)  # the file is gone; the entry can still be removed
        return QIcon(pixmap)
    return QIcon(QPixmap.fromImage(image))
