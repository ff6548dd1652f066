"""Observable state behind the LoRA panel: the LoRAs the current model can take, and the
ones chosen with their weights. The panel is a view of it; requests, restores and tests go
through this object."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from studio.core.loras import LoraInfo, LoraRef

DEFAULT_WEIGHT = 1.0


class LoraState(QObject):
    """`available` lists the LoRAs for the current model's family (the worker fills it);
    `chosen` holds the ones a request applies, in the order they were added."""

    changed = Signal()  # chosen or their weights changed
    available_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.available: list[LoraInfo] = []
        self.chosen: tuple[LoraRef, ...] = ()

    def set_available(self, loras: list[LoraInfo]) -> None:
        """The current model's LoRAs. Chosen ones stay chosen (a switch back keeps them);
        `fits` tells whether each still applies."""
        self.available = list(loras)
        self.available_changed.emit()

    def fits(self, name: str) -> bool:
        return any(lora.name == name and lora.usable for lora in self.available)

    def add(self, name: str, weight: float = DEFAULT_WEIGHT) -> None:
        if any(ref.name == name for ref in self.chosen):
            return
        self._set((*self.chosen, LoraRef(name, weight)))

    def remove(self, name: str) -> None:
        self._set(tuple(ref for ref in self.chosen if ref.name != name))

    def set_weight(self, name: str, weight: float) -> None:
        self._set(
            tuple(LoraRef(r.name, round(weight, 2)) if r.name == name else r for r in self.chosen)
        )

    def restore(self, loras: tuple[LoraRef, ...]) -> None:
        """A request's LoRAs, as they were."""
        self._set(tuple(loras))

    def _set(self, chosen: tuple[LoraRef, ...]) -> None:
        if chosen != self.chosen:
            self.chosen = chosen
            self.changed.emit()
