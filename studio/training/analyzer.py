"""A deterministic judge of single-object pictures of snail-mini's world.

Background: the palette colour most border pixels are nearest to. Foreground: pixels nearest
to another palette colour. The object is the largest connected blob of the commonest
foreground colour. Its shape: a square fills its bounding box; a triangle is widest at its
base; a circle fills about 0.79 of its box, a star under 0.6. Its position: the centre of its
bounding box on a 3x3 grid (a large triangle's centroid sits too low to tell "top").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from studio.training.world import PALETTE

_NAMES = list(PALETTE)
_COLORS = np.array([PALETTE[n] for n in _NAMES], dtype=np.float32)
_MAX_DISTANCE = 90.0  # farther than this from every palette colour: an edge or a smudge
_MIN_PIXELS = 6
_SQUARE_FILL = 0.89
_CIRCLE_FILL = 0.64
_BASE_HEIGHT = 0.7  # widest rows this far down the box or more: a triangle on its base
_ROWS = ("top", "", "bottom")
_COLUMNS = ("left", "", "right")


@dataclass(frozen=True)
class Analysis:
    background: str
    color: str | None = None
    shape: str | None = None
    position: str | None = None


def analyze(image: Image.Image) -> Analysis:
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    distances = np.linalg.norm(pixels[:, :, None, :] - _COLORS[None, None], axis=-1)
    nearest = distances.argmin(axis=-1)
    close = distances.min(axis=-1) < _MAX_DISTANCE
    border = np.concatenate(
        [nearest[:2].ravel(), nearest[-2:].ravel(), nearest[:, :2].ravel(), nearest[:, -2:].ravel()]
    )
    background = int(np.bincount(border, minlength=len(_NAMES)).argmax())
    foreground = close & (nearest != background)
    if foreground.sum() < _MIN_PIXELS:
        return Analysis(_NAMES[background])
    color = int(np.bincount(nearest[foreground], minlength=len(_NAMES)).argmax())
    blobs, count = ndimage.label(foreground & (nearest == color))
    if count == 0:
        return Analysis(_NAMES[background], _NAMES[color])
    sizes = ndimage.sum_labels(np.ones_like(blobs), blobs, index=range(1, count + 1))
    blob = blobs == int(np.argmax(sizes)) + 1
    if blob.sum() < _MIN_PIXELS:
        return Analysis(_NAMES[background], _NAMES[color])
    return Analysis(_NAMES[background], _NAMES[color], _shape(blob), _position(blob))


def _shape(blob: np.ndarray) -> str:
    # Holes (a smudge inside the object) count as object: fill them before measuring.
    blob = ndimage.binary_fill_holes(blob)
    rows, columns = np.nonzero(blob)
    top, height = rows.min(), np.ptp(rows) + 1
    fill = blob.sum() / (height * (np.ptp(columns) + 1))
    if fill >= _SQUARE_FILL:
        return "square"
    widths = blob[top : top + height].sum(axis=1)
    widest = np.nonzero(widths >= 0.9 * widths.max())[0].mean() / max(1, height - 1)
    if widest >= _BASE_HEIGHT:
        return "triangle"
    return "circle" if fill >= _CIRCLE_FILL else "star"


def _position(blob: np.ndarray) -> str:
    rows, columns = np.nonzero(blob)
    height, width = blob.shape
    row = _ROWS[min(2, int(3 * (rows.min() + rows.max() + 1) / 2 / height))]
    column = _COLUMNS[min(2, int(3 * (columns.min() + columns.max() + 1) / 2 / width))]
    return " ".join(p for p in (row, column) if p) or "center"
