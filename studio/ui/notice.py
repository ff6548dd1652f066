"""A non-modal notice above the canvas: errors and hints that must not block the window."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

ERROR_MS = 15_000
INFO_MS = 6_000


class Notice(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton()
        self.action.hide()
        self.action.clicked.connect(self._act)
        self._on_action: Callable[[], None] | None = None
        close = QToolButton(text="\u2715")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_error(self, message: str) -> None:
        self._show(message, "error", ERROR_MS)

    def show_info(self, message: str) -> None:
        self._show(message, "info", INFO_MS)

    def offer(self, message: str, action: str, on_action: Callable[[], None]) -> None:
        """An info notice with one button; it stays until used or dismissed."""
        self._show(message, "info", 0)
        self.action.setText(action)
        self.action.show()
        self._on_action = on_action

    def _act(self) -> None:
        on_action, self._on_action = self._on_action, None
        self.hide()
        if on_action is not None:
            on_action()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def _show(self, message: str, kind: str, timeout_ms: int) -> None:
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(message)
        self.action.hide()
        self._on_action = None
        self.show()
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()
