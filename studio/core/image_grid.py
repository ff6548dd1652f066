"""Images in a labelled grid: column labels on top, row labels on the left, notes below."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

MIN_CELL = 192  # small models' images (snail-mini: 64 px) are scaled up to this
GAP = 6
FONT_SIZE = 16
BACKGROUND = (250, 250, 250)
INK = (20, 20, 20)


def labelled_grid(
    images: list[Image.Image],
    column_labels: list[str],
    row_labels: list[str],
    notes: Sequence[str] = (),
) -> Image.Image:
    """`images` row by row; a row label of "" everywhere leaves out the label column."""
    rows, columns = len(row_labels), len(column_labels)
    if len(images) != rows * columns:
        raise ValueError(f"{rows}x{columns} grid needs {rows * columns} images, got {len(images)}")
    font = ImageFont.load_default(size=FONT_SIZE)
    width, height = images[0].size
    scale = max(1, -(-MIN_CELL // max(width, height)))
    cell_w, cell_h = width * scale, height * scale
    labelled_rows = any(row_labels)
    left = (
        GAP + max(_text_width(font, label) for label in row_labels) + GAP if labelled_rows else GAP
    )
    top = FONT_SIZE + 2 * GAP
    grid_w = left + columns * (cell_w + GAP)
    chars = max(40, grid_w // (FONT_SIZE * 55 // 100))
    footer = [line for note in notes for line in (textwrap.wrap(note, chars) or [""])]
    grid_h = top + rows * (cell_h + GAP) + GAP + len(footer) * (FONT_SIZE + 4)
    canvas = Image.new("RGB", (grid_w, grid_h), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(column_labels):
        x = left + c * (cell_w + GAP) + (cell_w - _text_width(font, label)) // 2
        draw.text((x, GAP), label, font=font, fill=INK)
    for r, label in enumerate(row_labels):
        y = top + r * (cell_h + GAP) + cell_h // 2 - FONT_SIZE // 2
        draw.text((GAP, y), label, font=font, fill=INK)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        tile = image.convert("RGB").resize((cell_w, cell_h), Image.Resampling.NEAREST)
        canvas.paste(tile, (left + column * (cell_w + GAP), top + row * (cell_h + GAP)))
    y = top + rows * (cell_h + GAP) + GAP // 2
    for line in footer:
        draw.text((GAP, y), line, font=font, fill=INK)
        y += FONT_SIZE + 4
    return canvas


def _text_width(font: ImageFont.ImageFont | ImageFont.FreeTypeFont, text: str) -> int:
    left, _, right, _ = font.getbbox(text)
    return int(right - left)
