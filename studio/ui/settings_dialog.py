"""The settings dialog: model folders, output folder, defaults for new sessions, precision,
ComfyUI servers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.model_roots import FoundFolder, find_model_folders
from studio.core.paths import AppPaths
from studio.core.schedulers import SCHEDULER_NAMES
from studio.core.settings import PRECISIONS, Settings
from studio.ui import tasks
from studio.ui.find_models_dialog import FindModelsDialog
from studio.ui.param_widgets import SizeChooser

PRECISION_LABELS = {
    "auto": "Automatic (bf16 where the CPU/GPU supports it)",
    "fp32": "fp32 (exact, slowest)",
    "bf16": "bf16 (fast on recent CPUs)",
    "fp16": "fp16 (GPU only)",
}


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        paths: AppPaths,
        parent: QWidget | None = None,
        find_folders: Callable[[], list[FoundFolder]] = find_model_folders,
    ) -> None:
        super().__init__(parent)
        self._find_folders = find_folders
        self.found_dialog: FindModelsDialog | None = None  # the last "Find My Models" shown
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._original = settings

        self.folders = QListWidget()
        self.folders.addItems(settings.model_folders)
        self.folders.setMaximumHeight(110)
        self.folders.setToolTip(
            "Folders searched for models (diffusers folders, .safetensors files)"
        )
        add = QPushButton("Add…")
        remove = QPushButton("Remove")
        self.find_models = QPushButton("Find My Models\u2026")
        self.find_models.setToolTip("Look for the model folders of ComfyUI, A1111, InvokeAI\u2026")
        self.find_models.clicked.connect(lambda: tasks.spawn(self._find_models()))
        add.clicked.connect(self._add_folder)
        remove.clicked.connect(lambda: self.folders.takeItem(self.folders.currentRow()))
        folder_buttons = QVBoxLayout()
        folder_buttons.addWidget(add)
        folder_buttons.addWidget(remove)
        folder_buttons.addWidget(self.find_models)
        folder_buttons.addStretch(1)
        folders = QHBoxLayout()
        folders.addWidget(self.folders, 1)
        folders.addLayout(folder_buttons)

        self.output = QLineEdit(settings.output_dir)
        self.output.setPlaceholderText(str(paths.outputs_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_output)
        output = QHBoxLayout()
        output.addWidget(self.output, 1)
        output.addWidget(browse)

        self.steps = QSpinBox()
        self.steps.setRange(1, 150)
        self.steps.setValue(settings.default_steps)
        self.size = SizeChooser()
        width, height = settings.default_width, settings.default_height
        self.size.set_size((width, height) if width and height else None)
        self.scheduler = QComboBox()
        self.scheduler.addItems(SCHEDULER_NAMES)
        self.scheduler.setCurrentText(settings.default_scheduler)
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(0.0, 30.0)
        self.guidance.setSingleStep(0.5)
        self.guidance.setValue(settings.default_guidance)
        self.guidance.setToolTip(
            "For models that recommend no guidance of their own (snail-mini does)"
        )
        self.precision = QComboBox()
        for name in PRECISIONS:
            self.precision.addItem(PRECISION_LABELS.get(name, name), name)
        self.precision.setCurrentIndex(max(0, self.precision.findData(settings.precision)))

        self.servers = QPlainTextEdit(
            "\n".join(f"{s['url']} {s['token']}".strip() for s in settings.servers)
        )
        self.servers.setMaximumHeight(70)
        self.servers.setPlaceholderText("none: generate on this machine")
        self.servers.setToolTip(
            "ComfyUI servers, one a line: its address, then a space and its token if it needs"
            " one (http://gpu-box:8188 or https://… for TLS). Jobs spread over every server"
            " that has the model."
        )

        form = QFormLayout()
        form.addRow("Model folders", folders)
        form.addRow("Output folder", output)
        form.addRow("Default steps", self.steps)
        form.addRow("Default size", self.size)
        form.addRow("Default sampler", self.scheduler)
        form.addRow("Default guidance", self.guidance)
        form.addRow("Precision", self.precision)
        form.addRow("ComfyUI servers", self.servers)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def settings(self) -> Settings:
        size = self.size.size() or (0, 0)
        return dataclasses.replace(
            self._original,
            model_folders=[self.folders.item(i).text() for i in range(self.folders.count())],
            output_dir=self.output.text().strip(),
            default_steps=self.steps.value(),
            default_width=size[0],
            default_height=size[1],
            default_scheduler=self.scheduler.currentText(),
            default_guidance=round(self.guidance.value(), 2),
            precision=self.precision.currentData(),
            servers=[
                {"url": url, "token": token.strip()}
                for url, _, token in (
                    line.strip().partition(" ") for line in self.servers.toPlainText().splitlines()
                )
                if url
            ],
        )

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a model folder")
        if folder and not self.folders.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folders.addItem(folder)

    async def _find_models(self) -> None:
        self.find_models.setEnabled(False)
        try:
            found = await tasks.in_thread(self._find_folders)
        finally:
            self.find_models.setEnabled(True)
        current = [self.folders.item(i).text() for i in range(self.folders.count())]
        dialog = FindModelsDialog(found, current, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.folders.addItems(dialog.chosen_folders()))
        dialog.open()
        self.found_dialog = dialog

    def _browse_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output.text())
        if folder:
            self.output.setText(folder)
