""" "Find my models": the model folders of other apps the user has, to tick and add.

The search itself (`studio.core.model_roots`) reads folders, so callers run it off the UI
thread and hand the result in; the dialog only shows it and says which folders were ticked.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.model_roots import FoundFolder

FOLDER_ROLE = Qt.ItemDataRole.UserRole
NONE_FOUND = (
    "No model folders of ComfyUI, AUTOMATIC1111/Forge, InvokeAI, Fooocus, Stability Matrix or "
    "the Hugging Face cache were found in the usual places. Add one with \u201cAdd\u2026\u201d."
)


class FindModelsDialog(QDialog):
    def __init__(
        self, found: list[FoundFolder], current: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find My Models")
        self.setMinimumWidth(620)
        used = {_key(folder) for folder in current}
        intro = QLabel(
            "These apps keep models on this computer. Tick the folders Snail Studio should "
            "use; it reads the files where they are and copies nothing."
            if found
            else NONE_FOUND
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        for folder in found:
            self.list.addItem(_row(folder, _key(str(folder.folder)) in used))
        self.list.setVisible(bool(found))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use Ticked Folders")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(found))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)

    def chosen_folders(self) -> list[str]:
        """The ticked folders not already in use, in the order shown."""
        items = [self.list.item(row) for row in range(self.list.count())]
        return [
            item.data(FOLDER_ROLE)
            for item in items
            if item.checkState() == Qt.CheckState.Checked
            and item.flags() & Qt.ItemFlag.ItemIsEnabled
        ]


def _row(found: FoundFolder, in_use: bool) -> QListWidgetItem:
    files = f"{found.files} model file{'s' * (found.files != 1)}"
    item = QListWidgetItem(f"{found.app}  \u00b7  {files}\n{found.folder}")
    item.setData(FOLDER_ROLE, str(found.folder))
    if in_use:
        item.setText(item.text() + "  (already used)")
        item.setFlags(Qt.ItemFlag.ItemIsUserCheckable)  # shown ticked, greyed, not changed
        item.setCheckState(Qt.CheckState.Checked)
    else:
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        # Folders with models are ticked to start with; an empty one is offered, not chosen.
        item.setCheckState(Qt.CheckState.Checked if found.files else Qt.CheckState.Unchecked)
    return item


def _key(folder: str) -> Path:
    return Path(folder).expanduser().resolve()
