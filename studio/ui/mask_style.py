"""How the mask overlay looks: its colour, its opacity, and whether it is shown at all.

Red reads as "mask" on most images but vanishes over red content; the user picks another
colour or opacity, or hides the overlay to see the image. Saved with the session.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor

MASK_COLORS = {
    "Red": "#eb2d2d",
    "Green": "#24d05a",
    "Blue": "#2d6beb",
    "Magenta": "#e02de0",
    "Cyan": "#2de0e0",
    "Yellow": "#f0e030",
    "White": "#ffffff",
    "Black": "#000000",
}
DEFAULT_COLOR = "Red"
DEFAULT_OPACITY = 0.5
MIN_OPACITY, MAX_OPACITY = 0.1, 1.0


class MaskStyle(QObject):
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.color = DEFAULT_COLOR
        self.opacity = DEFAULT_OPACITY
        self.shown = True

    def qcolor(self) -> QColor:
        return QColor(MASK_COLORS[self.color])

    def set_color(self, name: str) -> None:
        if name in MASK_COLORS and name != self.color:
            self.color = name
            self.changed.emit()

    def set_opacity(self, opacity: float) -> None:
        opacity = max(MIN_OPACITY, min(MAX_OPACITY, round(float(opacity), 2)))
        if opacity != self.opacity:
            self.opacity = opacity
            self.changed.emit()

    def set_shown(self, shown: bool) -> None:
        if bool(shown) != self.shown:
            self.shown = bool(shown)
            self.changed.emit()

    def to_dict(self) -> dict[str, Any]:
        return {"color": self.color, "opacity": self.opacity, "shown": self.shown}

    def restore(self, data: dict[str, Any]) -> None:
        """Take saved values; anything missing or of the wrong type keeps its current value."""
        if isinstance(data.get("color"), str):
            self.set_color(data["color"])
        if isinstance(data.get("opacity"), int | float) and not isinstance(data["opacity"], bool):
            self.set_opacity(data["opacity"])
        if isinstance(data.get("shown"), bool):
            self.set_shown(data["shown"])
