"""X/Y sweeps: every cell is `dataclasses.replace` of one base request.

An axis varies one thing: guidance, steps, seed, sampler, strength, model, or the prompt by
search and replace (AUTOMATIC1111's "Prompt S/R": the first value is the text searched for,
and each value in turn replaces it, so the first cell is the prompt as written).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from studio.core.errors import RequestError
from studio.core.request import GenerationRequest

MAX_CELLS = 64
GUIDANCE_TABLE_SCALES = (1.0, 3.0, 7.5, 15.0, 30.0)
GUIDANCE_TABLE_SEEDS = 3

Value = float | int | str


class AxisKind(enum.StrEnum):
    GUIDANCE = "guidance"
    STEPS = "steps"
    SEED = "seed"
    SAMPLER = "sampler"
    STRENGTH = "strength"
    MODEL = "model"
    PROMPT = "prompt"

    @property
    def field(self) -> str:
        return {
            "guidance": "guidance_scale",
            "steps": "steps",
            "seed": "seed",
            "sampler": "scheduler",
            "strength": "strength",
            "model": "model",
            "prompt": "prompt",
        }[self.value]

    def parse(self, text: str) -> Value:
        """One value from its text, as the CLI and the dialog get it."""
        text = text.strip()
        try:
            if self in (AxisKind.GUIDANCE, AxisKind.STRENGTH):
                return float(text)
            if self in (AxisKind.STEPS, AxisKind.SEED):
                return int(text)
        except ValueError:
            raise RequestError(f"{self.value} values must be numbers, got {text!r}") from None
        if not text:
            raise RequestError(f"an empty {self.value} value")
        return text


@dataclass(frozen=True)
class SweepAxis:
    kind: AxisKind
    values: tuple[Value, ...]

    @classmethod
    def parse(cls, kind: AxisKind, text: str) -> SweepAxis:
        """`1,3,7.5` style; prompt values are split on commas too (A1111's convention)."""
        return cls(kind, tuple(kind.parse(part) for part in text.split(",")))

    def apply(self, request: GenerationRequest, value: Value) -> GenerationRequest:
        if self.kind is AxisKind.PROMPT:
            search = str(self.values[0])
            if search not in request.prompt:
                raise RequestError(f"the prompt does not contain {search!r} to replace")
            return dataclasses.replace(request, prompt=request.prompt.replace(search, str(value)))
        return dataclasses.replace(request, **{self.kind.field: value})

    def label(self, value: Value) -> str:
        if isinstance(value, float):
            value = f"{value:g}"
        names = {AxisKind.GUIDANCE: "CFG", AxisKind.SAMPLER: "", AxisKind.PROMPT: ""}
        prefix = names.get(self.kind, self.kind.value)
        return f"{prefix} {value}".strip()


@dataclass(frozen=True)
class SweepCell:
    row: int
    column: int
    request: GenerationRequest


@dataclass(frozen=True)
class Sweep:
    """Columns vary along `x`, rows along `y` (one row when there is no `y`)."""

    base: GenerationRequest
    x: SweepAxis
    y: SweepAxis | None = None

    def with_seed(self, seed: int) -> Sweep:
        """The same seed in every cell where the request leaves it random."""
        if self.base.seed is not None:
            return self
        return dataclasses.replace(self, base=dataclasses.replace(self.base, seed=seed))

    def validate(self) -> None:
        if self.y is not None and self.y.kind is self.x.kind:
            raise RequestError(f"both axes vary {self.x.kind.value}")
        if not self.x.values or (self.y is not None and not self.y.values):
            raise RequestError("an axis has no values")
        if len(self.cells()) > MAX_CELLS:
            raise RequestError(f"a sweep makes at most {MAX_CELLS} images")
        for cell in self.cells():
            cell.request.validate()

    def varies(self, kind: AxisKind) -> bool:
        return kind is self.x.kind or (self.y is not None and kind is self.y.kind)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)"""
        return (len(self.y.values) if self.y else 1), len(self.x.values)

    def cells(self) -> list[SweepCell]:
        rows = self.y.values if self.y else (None,)
        cells = []
        for r, y_value in enumerate(rows):
            row_base = self.base if self.y is None else self.y.apply(self.base, y_value)
            for c, x_value in enumerate(self.x.values):
                cells.append(SweepCell(r, c, self.x.apply(row_base, x_value)))
        return cells

    def column_labels(self) -> list[str]:
        return [self.x.label(v) for v in self.x.values]

    def row_labels(self) -> list[str]:
        return [self.y.label(v) for v in self.y.values] if self.y else [""]


def guidance_table(base: GenerationRequest) -> Sweep:
    """The classic comparison: guidance 1 (muted) to 30 (burnt) across, three seeds down."""
    first = base.seed if base.seed is not None else 1
    seeds = tuple(first + i for i in range(GUIDANCE_TABLE_SEEDS))
    return Sweep(
        base,
        SweepAxis(AxisKind.GUIDANCE, GUIDANCE_TABLE_SCALES),
        SweepAxis(AxisKind.SEED, seeds),
    )
