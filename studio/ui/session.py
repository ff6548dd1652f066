"""Nothing lost: the prompt, parameters, input image, mask and window layout on disk.

Everything is written atomically (temp file, then rename), so a kill at any moment leaves the
previous or the new state, never half of one. `Autosave` debounces changes: the JSON is
small and written on the UI thread; images are encoded in the executor. A sequence number
keeps a slow background write from landing after a newer one.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QTimer
from PySide6.QtGui import QImage

from studio.core.files import write_bytes_atomic, write_text_atomic
from studio.core.paths import AppPaths
from studio.ui import tasks

log = logging.getLogger(__name__)
VERSION = 1
AUTOSAVE_DELAY_MS = 800


@dataclass
class SessionState:
    request: dict[str, Any] = field(default_factory=dict)  # GenerationRequest.to_dict()
    input_image: QImage | None = None
    mask: QImage | None = None
    mask_tools: dict[str, Any] = field(default_factory=dict)  # brush, feather, overlay


class SessionStore:
    """The session's files in the data folder."""

    def __init__(self, paths: AppPaths) -> None:
        self.state_file = paths.session_file
        self.input_file = paths.data_dir / "session-input.png"
        self.mask_file = paths.data_dir / "session-mask.png"
        self.layout_file = paths.data_dir / "window.json"
        self.running_file = paths.data_dir / "running-job.json"
        self._lock = threading.Lock()
        self._images_seq = -1

    def save_request(self, request: dict[str, Any], mask_tools: dict[str, Any]) -> None:
        data = {"version": VERSION, "request": request, "mask_tools": mask_tools}
        write_text_atomic(self.state_file, json.dumps(data))

    def save_images(self, seq: int, input_image: QImage | None, mask: QImage | None) -> None:
        """Write both images unless a newer `seq` was written already (any thread)."""
        with self._lock:
            if seq < self._images_seq:
                return
            self._images_seq = seq
            _write_png(self.input_file, input_image)
            _write_png(self.mask_file, mask if input_image is not None else None)

    def load_request(self) -> dict[str, Any]:
        """The saved parameters (GenerationRequest.to_dict()), or {} when there are none."""
        return self._load_section("request")

    def load_mask_tools(self) -> dict[str, Any]:
        """The saved brush size, feather and overlay style, or {} when there are none."""
        return self._load_section("mask_tools")

    def _load_section(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        section = data.get(name) if isinstance(data, dict) else None
        return section if isinstance(section, dict) else {}

    def load_images(self) -> tuple[QImage | None, QImage | None]:
        """(input image, mask); the mask only when it fits the input. Safe on any thread."""
        input_image = _read_png(self.input_file)
        if input_image is None:
            return None, None
        mask = _read_png(self.mask_file)
        if mask is None or mask.size() != input_image.size():
            return input_image, None
        return input_image, mask.convertToFormat(QImage.Format.Format_Grayscale8)

    def save_running(self, requests: list[dict[str, Any]]) -> None:
        """Note the jobs now running (none: the note goes); jobs still noted at start were
        interrupted."""
        if requests:
            write_text_atomic(self.running_file, json.dumps({"requests": requests}))
        else:
            self.running_file.unlink(missing_ok=True)

    def take_interrupted(self) -> list[dict[str, Any]]:
        """The requests of the jobs running when the studio stopped; forgets them."""
        try:
            data = json.loads(self.running_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self.running_file.unlink(missing_ok=True)
        requests = data.get("requests") if isinstance(data, dict) else None
        return [r for r in requests if isinstance(r, dict)] if isinstance(requests, list) else []

    def save_layout(self, geometry: QByteArray, dock_state: QByteArray) -> None:
        data = {"geometry": _b64(geometry), "state": _b64(dock_state)}
        write_text_atomic(self.layout_file, json.dumps(data))

    def load_layout(self) -> tuple[QByteArray, QByteArray] | None:
        try:
            data = json.loads(self.layout_file.read_text(encoding="utf-8"))
            return (
                QByteArray(base64.b64decode(data["geometry"])),
                QByteArray(base64.b64decode(data["state"])),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


class Autosave(QObject):
    """Saves the session a moment after the last change, and at once on `flush()`."""

    def __init__(
        self,
        store: SessionStore,
        collect: Callable[[], SessionState],
        save_layout: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._collect = collect
        self._save_layout = save_layout
        self._images_dirty = False
        self._seq = 0
        self._timer = QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self._save_soon)

    def touch(self, images: bool = False) -> None:
        self._images_dirty = self._images_dirty or images
        self._timer.start()

    def flush(self) -> None:
        """Save everything now, on this thread (exit)."""
        self._timer.stop()
        state = self._collect()
        self._seq += 1
        self._save(state, write_images=True, seq=self._seq)
        self._images_dirty = False

    def _save_soon(self) -> None:
        state = self._collect()
        self._save(state, write_images=False, seq=self._seq)
        if self._images_dirty:
            self._images_dirty = False
            self._seq += 1
            input_image = state.input_image.copy() if state.input_image else None
            mask = state.mask.copy() if state.mask else None
            tasks.spawn(self._write_images(self._seq, input_image, mask))

    async def _write_images(
        self, seq: int, input_image: QImage | None, mask: QImage | None
    ) -> None:
        try:
            await tasks.in_thread(self._store.save_images, seq, input_image, mask)
        except OSError as exc:
            log.warning("could not autosave the session images: %s", exc)

    def _save(self, state: SessionState, write_images: bool, seq: int) -> None:
        try:
            self._store.save_request(state.request, state.mask_tools)
            self._save_layout()
            if write_images:
                self._store.save_images(seq, state.input_image, state.mask)
        except OSError as exc:
            log.warning("could not save the session: %s", exc)


def _write_png(path: Path, image: QImage | None) -> None:
    if image is None or image.isNull():
        path.unlink(missing_ok=True)
        return
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"cannot encode {path.name}")
    write_bytes_atomic(path, bytes(buffer.data()))


def _read_png(path: Path) -> QImage | None:
    image = QImage(str(path))
    return None if image.isNull() else image


def _b64(data: QByteArray) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")
