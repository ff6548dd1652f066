"""A sweep's images as one labelled grid PNG, with its parameters drawn and stored in it.

The column labels go along the top, the row labels down the left, and the base request's
parameters (AUTOMATIC1111 style) along the bottom; the PNG's `parameters` chunk holds them
too, and a `snail_sweep` chunk the axes as JSON.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image, PngImagePlugin

from studio.core.files import write_bytes_atomic
from studio.core.image_grid import labelled_grid
from studio.core.metadata import PARAMETERS_CHUNK, format_parameters
from studio.core.sweep import Sweep

SWEEP_CHUNK = "snail_sweep"


def render_grid(sweep: Sweep, images: list[Image.Image], model_name: str = "") -> Image.Image:
    """`images` in `sweep.cells()` order."""
    rows, columns = sweep.shape
    if len(images) != rows * columns:
        raise ValueError(f"{rows}x{columns} sweep needs {rows * columns} images, got {len(images)}")
    notes = [_axes_note(sweep), *_parameters(sweep, model_name).splitlines()]
    return labelled_grid(images, sweep.column_labels(), sweep.row_labels(), notes)


def save_grid(grid: Image.Image, path: Path, sweep: Sweep, model_name: str = "") -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_CHUNK, _parameters(sweep, model_name))
    info.add_text(SWEEP_CHUNK, json.dumps(sweep_description(sweep), ensure_ascii=False))
    encoded = io.BytesIO()
    grid.save(encoded, format="PNG", pnginfo=info)
    return write_bytes_atomic(Path(path), encoded.getvalue(), durable=True)


def sweep_description(sweep: Sweep) -> dict[str, object]:
    axes = {"x": {"kind": sweep.x.kind.value, "values": list(sweep.x.values)}}
    if sweep.y is not None:
        axes["y"] = {"kind": sweep.y.kind.value, "values": list(sweep.y.values)}
    return {"base": sweep.base.to_dict(), **axes}


def _parameters(sweep: Sweep, model_name: str) -> str:
    return format_parameters(sweep.base, sweep.base.seed or 0, model_name or sweep.base.model)


def _axes_note(sweep: Sweep) -> str:
    axes = [("X", sweep.x)] + ([("Y", sweep.y)] if sweep.y else [])
    described = (
        f"{name}: {axis.kind.value} = {', '.join(map(_value, axis.values))}" for name, axis in axes
    )
    return "  \u00b7  ".join(described) + "   (these replace the values below)"


def _value(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
