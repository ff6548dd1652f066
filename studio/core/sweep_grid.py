"""A sweep's images as one labelled grid PNG, with its parameters drawn and stored in it.

The column labels go along the top, the row labels down the left, and the base request's
parameters (AUTOMATIC1111 style) along the bottom; the PNG's `parameters` chunk holds them
too, and a `snail_sweep` chunk the axes as JSON.
"""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from studio.core.files import write_bytes_atomic
from studio.core.metadata import PARAMETERS_CHUNK, format_parameters
from studio.core.sweep import Sweep

MIN_CELL = 192  # small models' images (snail-mini: 64 px) are scaled up to this
GAP = 6
FONT_SIZE = 16
SWEEP_CHUNK = "snail_sweep"
BACKGROUND = (250, 250, 250)
INK = (20, 20, 20)


def render_grid(sweep: Sweep, images: list[Image.Image], model_name: str = "") -> Image.Image:
    """`images` in `sweep.cells()` order."""
    rows, columns = sweep.shape
    if len(images) != rows * columns:
        raise ValueError(f"{rows}x{columns} sweep needs {rows * columns} images, got {len(images)}")
    font = ImageFont.load_default(size=FONT_SIZE)
    width, height = images[0].size
    scale = max(1, -(-MIN_CELL // max(width, height)))
    cell_w, cell_h = width * scale, height * scale
    row_labels, column_labels = sweep.row_labels(), sweep.column_labels()
    left = GAP + max(_text_width(font, label) for label in row_labels) + GAP if sweep.y else GAP
    top = FONT_SIZE + 2 * GAP
    grid_w = left + columns * (cell_w + GAP)
    footer = _footer_lines(sweep, model_name, grid_w)
    grid_h = top + rows * (cell_h + GAP) + GAP + len(footer) * (FONT_SIZE + 4)
    canvas = Image.new("RGB", (grid_w, grid_h), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(column_labels):
        x = left + c * (cell_w + GAP) + (cell_w - _text_width(font, label)) // 2
        draw.text((x, GAP), label, font=font, fill=INK)
    for r, label in enumerate(row_labels):
        draw.text(
            (GAP, top + r * (cell_h + GAP) + cell_h // 2 - FONT_SIZE // 2),
            label,
            font=font,
            fill=INK,
        )
    for cell, image in zip(sweep.cells(), images, strict=True):
        tile = image.convert("RGB").resize((cell_w, cell_h), Image.Resampling.NEAREST)
        canvas.paste(tile, (left + cell.column * (cell_w + GAP), top + cell.row * (cell_h + GAP)))
    y = top + rows * (cell_h + GAP) + GAP // 2
    for line in footer:
        draw.text((GAP, y), line, font=font, fill=INK)
        y += FONT_SIZE + 4
    return canvas


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


def _footer_lines(sweep: Sweep, model_name: str, width: int) -> list[str]:
    chars = max(40, width // (FONT_SIZE * 55 // 100))
    axes = [("X", sweep.x)] + ([("Y", sweep.y)] if sweep.y else [])
    described = (
        f"{name}: {axis.kind.value} = {', '.join(map(_value, axis.values))}" for name, axis in axes
    )
    lines = ["  \u00b7  ".join(described) + "   (these replace the values below)"]
    for paragraph in _parameters(sweep, model_name).splitlines():
        lines += textwrap.wrap(paragraph, chars) or [""]
    return lines


def _value(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _text_width(font: ImageFont.ImageFont | ImageFont.FreeTypeFont, text: str) -> int:
    left, _, right, _ = font.getbbox(text)
    return int(right - left)
