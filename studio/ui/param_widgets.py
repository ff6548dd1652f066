"""Two compound inputs of the prompt panel: the seed (random or locked) and the image size."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.request import MAX_SEED
from studio.ui.prompt_state import SeedState

SIZE_PRESETS: tuple[tuple[str, tuple[int, int] | None], ...] = (
    ("Native", None),
    ("Square 512", (512, 512)),
    ("Square 768", (768, 768)),
    ("Square 1024", (1024, 1024)),
    ("Landscape 3:2", (768, 512)),
    ("Portrait 2:3", (512, 768)),
    ("Wide 16:9", (1024, 576)),
    ("Tall 9:16", (576, 1024)),
)
CUSTOM = "Custom"
MIN_SIDE, MAX_SIDE = 64, 2048


class _SeedValidator(QValidator):
    """Digits only, 0..MAX_SEED (QIntValidator stops at 2**31 - 1)."""

    def validate(self, text: str, pos: int) -> object:
        if text == "":
            return QValidator.State.Intermediate, text, pos
        if text.isdigit() and int(text) <= MAX_SEED:
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Invalid, text, pos


class SeedEdit(QWidget):
    """A view of a SeedState: the seed field, a dice for a new one, and the lock.

    Locked must be unmistakable, for every run then repeats the same image: the button reads
    "Locked" and the field is outlined in the accent colour (theme.py).
    """

    def __init__(self, state: SeedState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.field = QLineEdit()
        self.field.setPlaceholderText("Random")
        self.field.setValidator(_SeedValidator(self))
        self.field.setToolTip("Seed. Locked: every run uses it. Unlocked: a new seed each run.")
        self.dice = QToolButton(text="New")
        self.dice.setToolTip("Pick a new random seed and lock it")
        self.lock = QToolButton(text="Lock")
        self.lock.setCheckable(True)
        self.lock.setObjectName("seedLock")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.dice)
        layout.addWidget(self.lock)
        self.field.textEdited.connect(lambda text: state.type(int(text) if text else None))
        self.dice.clicked.connect(state.roll)
        self.lock.toggled.connect(state.set_locked)
        state.changed.connect(self._show)
        self._show()

    def _show(self) -> None:
        state = self.state
        text = "" if state.shown is None else str(state.shown)
        if self.field.text() != text:
            self.field.setText(text)
        self.lock.blockSignals(True)
        self.lock.setChecked(state.locked)
        self.lock.blockSignals(False)
        self.lock.setText("Locked" if state.locked else "Lock")
        self.lock.setToolTip(
            "Locked: every run uses this seed and repeats its image. Click for random seeds."
            if state.locked
            else "Keep this seed for every run (unlocked: random each run)"
        )
        self.field.setProperty("locked", state.locked)
        self.field.style().unpolish(self.field)
        self.field.style().polish(self.field)


class SizeChooser(QWidget):
    """A preset (native = the model's own size) or a custom size in multiples of 8."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._native = (512, 512)
        self.preset = QComboBox()
        self.preset.addItems([label for label, _size in SIZE_PRESETS] + [CUSTOM])
        self.preset.setToolTip("Image size; Native is the size the model was trained at")
        self.width_spin = _side_spin("Width in pixels (a multiple of 8)")
        self.height_spin = _side_spin("Height in pixels (a multiple of 8)")
        self.sides = sides = QWidget()
        row = QHBoxLayout(sides)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.width_spin, 1)
        row.addWidget(QLabel("\u00d7"))
        row.addWidget(self.height_spin, 1)
        # Custom sides go on a line of their own: beside the preset they overflow a narrow panel.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preset)
        layout.addWidget(sides)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        for spin in (self.width_spin, self.height_spin):
            spin.editingFinished.connect(lambda spin=spin: spin.setValue(_round8(spin.value())))
            spin.valueChanged.connect(self.changed)
        self._preset_changed()

    def size(self) -> tuple[int, int] | None:
        """(width, height), or None for the model's native size."""
        if self.preset.currentIndex() == 0:
            return None
        return _round8(self.width_spin.value()), _round8(self.height_spin.value())

    def set_size(self, size: tuple[int, int] | None) -> None:
        if size is None:
            self.preset.setCurrentIndex(0)
            return
        size = (_round8(size[0]), _round8(size[1]))
        sizes = [preset_size for _label, preset_size in SIZE_PRESETS]
        index = sizes.index(size) if size in sizes else -1
        if index < 0 and size == self._native:
            index = 0
        if index < 0:
            index = len(SIZE_PRESETS)  # Custom
            self.width_spin.setValue(size[0])
            self.height_spin.setValue(size[1])
        self.preset.setCurrentIndex(index)
        self._preset_changed()

    def set_native(self, size: tuple[int, int]) -> None:
        self._native = size
        self.preset.setItemText(0, f"Native ({size_text(*size)})")
        self._preset_changed()

    def _preset_changed(self) -> None:
        index = self.preset.currentIndex()
        custom = index == len(SIZE_PRESETS)
        shown = None if custom else SIZE_PRESETS[index][1] or self._native
        if shown is not None:
            for spin, value in zip((self.width_spin, self.height_spin), shown, strict=True):
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)
        self.sides.setVisible(custom)  # presets name their size; only Custom needs the boxes
        self.changed.emit()


def _side_spin(tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(MIN_SIDE, MAX_SIDE)
    spin.setSingleStep(8)
    spin.setToolTip(tip)
    spin.setAccelerated(True)
    return spin


def _round8(value: int) -> int:
    return max(MIN_SIDE, min(MAX_SIDE, round(value / 8) * 8))


def size_text(width: int, height: int) -> str:
    return f"{width}\u00d7{height}"
