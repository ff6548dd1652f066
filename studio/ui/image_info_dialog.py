"""The "PNG info" dialog: an image's generation parameters, and what to do with the image.

Opening, dropping and pasting an image that carries parameters all show it, so the choice is
the same everywhere: use the image as input, restore its parameters, or both.
"""

from __future__ import annotations

import enum

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.image_info import ImageInfo
from studio.ui.param_widgets import size_text

THUMB = 128


class ImportChoice(enum.Enum):
    INPUT = "Use as Input"
    PARAMETERS = "Restore Parameters"
    BOTH = "Both"


class ImageInfoDialog(QDialog):
    """Shows `info` for the image `name`; its buttons pick an ImportChoice (`choice`)."""

    def __init__(
        self,
        name: str,
        info: ImageInfo,
        image: QImage | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Image info \u2013 {name}")
        self.choice: ImportChoice | None = None
        thumb = QLabel()
        if image is not None and not image.isNull():
            scaled = image.scaled(
                THUMB,
                THUMB,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            thumb.setPixmap(QPixmap.fromImage(scaled))
        size = f" \u00b7 {size_text(image.width(), image.height())}" if image else ""
        self.source = QLabel(
            f"<b>{name}</b>{size}<br>"
            + (
                f"Parameters written by {info.source}"
                if info.source
                else "No generation parameters"
            )
        )
        self.source.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(thumb)
        header.addWidget(self.source, 1)

        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Setting", "Value"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        rows = [("Prompt", info.prompt), ("Negative prompt", info.negative_prompt)]
        rows += list(info.settings.items())
        for key, value in rows:
            if value:
                row = self.table.rowCount()
                self.table.insertRow(row)
                self.table.setItem(row, 0, QTableWidgetItem(key))
                self.table.setItem(row, 1, QTableWidgetItem(value))
        self.table.resizeColumnToContents(0)
        self.raw = QPlainTextEdit("\n\n".join(f"{k}:\n{v}" for k, v in info.chunks.items()))
        self.raw.setReadOnly(True)
        self.raw.setMaximumHeight(120)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.table, 1)
        if info.notes:
            layout.addWidget(QLabel("\n".join(f"Not restored: {n}" for n in info.notes)))
        layout.addWidget(QLabel("All text stored in the file"))
        layout.addWidget(self.raw)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons: dict[ImportChoice, QPushButton] = {}
        for choice in ImportChoice:
            button = buttons.addButton(choice.value, QDialogButtonBox.ButtonRole.AcceptRole)
            button.setEnabled(choice is ImportChoice.INPUT or info.request is not None)
            button.clicked.connect(lambda _=False, c=choice: self._choose(c))
            self.buttons[choice] = button
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, 480)

    def _choose(self, choice: ImportChoice) -> None:
        self.choice = choice
        self.accept()


def ask_import(
    parent: QWidget, name: str, info: ImageInfo, image: QImage | None
) -> ImportChoice | None:
    """Show an image's parameters and ask what to do with it; None when cancelled."""
    dialog = ImageInfoDialog(name, info, image, parent)
    dialog.exec()
    return dialog.choice
