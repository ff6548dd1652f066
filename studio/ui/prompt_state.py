"""Observable state behind the prompt panel's seed and guidance; the widgets are views of it.

Both fix a cause, not a symptom: the seed's lock lived in a button's checked state, so a
restore could lock it without anyone noticing, and the guidance was a spin box that a model
switch simply overwrote. Here each is a value with a `changed` signal and the rules that
govern it; restores, the session and tests go through these objects, never a widget.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from studio.core.models import ModelInfo
from studio.core.request import MAX_SEED


class SeedState(QObject):
    """A seed that is random per run or locked. `shown` is the locked seed or the last used."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.shown: int | None = None
        self.locked = False

    def seed(self) -> int | None:
        """The seed a request should use: None means random."""
        return self.shown if self.locked else None

    def restore(self, seed: int | None) -> None:
        """A request's seed: a concrete one is locked (so the image can be remade), None random."""
        self._set(seed, seed is not None)

    def type(self, seed: int | None) -> None:
        """The user typed a seed: a seed typed in is meant to be used, so it locks."""
        self._set(seed, seed is not None)

    def set_locked(self, locked: bool) -> None:
        """Lock (a random seed when none is shown yet) or unlock for random seeds."""
        shown = self.shown if self.shown is not None or not locked else _random_seed()
        self._set(shown, locked)

    def roll(self) -> None:
        """A new random seed, locked."""
        self._set(_random_seed(), True)

    def show_used(self, seed: int) -> None:
        """The seed a run used; shown unless a locked seed is, so 'Lock' keeps a result."""
        if not self.locked:
            self._set(seed, False)

    def _set(self, shown: int | None, locked: bool) -> None:
        if (shown, locked) != (self.shown, self.locked):
            self.shown, self.locked = shown, locked
            self.changed.emit()


class GuidanceState(QObject):
    """The guidance scale: the user's value wins; a model's recommendation is only offered.

    While the user has not changed it since a model set it, it follows the chosen model
    (its recommendation, else the settings' default, from `start_for`).
    """

    changed = Signal()

    def __init__(
        self, start_for: Callable[[ModelInfo | None], float], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._start_for = start_for
        self.value = start_for(None)
        self.model: ModelInfo | None = None
        self._started_by: ModelInfo | None = None  # the model whose start `value` is, if any
        self._follow_first_model = True  # until a request is restored

    @property
    def offer(self) -> float | None:
        """The model's recommendation when it differs from the value, else None."""
        recommended = self.model.recommended_guidance if self.model else None
        return recommended if recommended is not None and recommended != self.value else None

    def set_value(self, value: float) -> None:
        """The user's value."""
        self._started_by = None
        self._set(round(float(value), 2))

    def restore(self, value: float) -> None:
        """A request's value: the user's, and no first model overrides it."""
        self._follow_first_model = False
        self.set_value(value)

    def choose_model(self, info: ModelInfo | None) -> None:
        """The model changed: follow it if the value is a model's start, else keep the value."""
        following = self._follow_first_model or (
            self._started_by is not None and self.value == self._start_for(self._started_by)
        )
        self.model = info
        if following and info is not None:
            self._follow_first_model = False
            self.use_model_start()
        else:
            self.changed.emit()  # the offer may have changed

    def use_model_start(self) -> None:
        """The chosen model's recommendation, else the settings' default."""
        self._started_by = self.model
        self._set(self._start_for(self.model))

    def _set(self, value: float) -> None:
        if value != self.value:
            self.value = value
        self.changed.emit()


def _random_seed() -> int:
    return random.randint(0, MAX_SEED)
