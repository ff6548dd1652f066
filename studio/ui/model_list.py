"""The models the engine listed, as observable state: the combo and the chooser are views of it.

`changed` when the list is replaced, `thumbnails_changed` when the last images made with the
models have been read, `scan_changed` while the engine looks through the model folders.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader

from studio.core.history import HistoryStore
from studio.core.model_groups import ModelGroup, find_by_hash, group_models, last_images
from studio.core.models import ModelInfo

THUMBNAIL = 72
HISTORY_LOOKBACK = 2000  # entries looked through for the last image of each model


class ModelList(QObject):
    changed = Signal()
    thumbnails_changed = Signal()
    scan_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.models: list[ModelInfo] = []
        self.groups: list[ModelGroup] = []
        self.thumbnails: dict[str, QImage] = {}
        self.scan: tuple[int, int] | None = None  # (done, total) while a scan runs

    def set_models(self, models: Iterable[ModelInfo]) -> None:
        self.models = list(models)
        self.groups = group_models(self.models)
        self.scan = None
        self.changed.emit()
        self.scan_changed.emit()

    def info(self, model_id: str) -> ModelInfo | None:
        return next((m for m in self.models if m.id == model_id), None)

    def by_hash(self, short_hash: str) -> ModelInfo | None:
        return find_by_hash(self.models, short_hash)

    def set_thumbnails(self, thumbnails: dict[str, QImage]) -> None:
        self.thumbnails = thumbnails
        self.thumbnails_changed.emit()

    def add_thumbnail(self, model_id: str, image: QImage) -> None:
        """A new image made with `model_id`: it becomes the model's thumbnail."""
        self.thumbnails = {**self.thumbnails, model_id: _small(image)}
        self.thumbnails_changed.emit()

    def set_scan_progress(self, done: int, total: int) -> None:
        self.scan = (done, total)
        self.scan_changed.emit()


def read_thumbnails(history_db: Path, models: list[ModelInfo]) -> dict[str, QImage]:
    """Model id -> the last image made with it, small; runs off the UI thread (QImage may)."""
    entries = HistoryStore(history_db).entries(limit=HISTORY_LOOKBACK)
    thumbnails = {}
    for model_id, path in last_images(models, entries).items():
        reader = QImageReader(str(path))
        size = reader.size()
        if size.isValid():
            reader.setScaledSize(_fit(size))
        image = reader.read()
        if not image.isNull():
            thumbnails[model_id] = image
    return thumbnails


def _fit(size: QSize) -> QSize:
    return size.scaled(QSize(THUMBNAIL, THUMBNAIL), Qt.AspectRatioMode.KeepAspectRatio)


def _small(image: QImage) -> QImage:
    return image.scaled(
        _fit(image.size()),
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
