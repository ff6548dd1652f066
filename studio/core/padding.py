"""Images padded out to the size a model works on, and the size itself.

A model works on sizes that are a multiple of its latent cell (8 px for SD and SDXL, 16 px for
SD3 and FLUX.1); an image of another size is padded (its edge pixels repeated), never
stretched, and the result cropped back. The local engine, the ComfyUI client and the MP4
writer (even sides) all pad this way.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def work_size(size: tuple[int, int], multiple: int) -> tuple[int, int]:
    """The size a model works on for an input of `size`: each side up to the next multiple."""
    width, height = (max(multiple, -(-side // multiple) * multiple) for side in size)
    return width, height


def pad(image: Image.Image, size: tuple[int, int], fill: int | None = None) -> Image.Image:
    """`image` at the top left of `size`; the rest repeats its edge pixels (or is `fill`)."""
    if image.size == size:
        return image
    pixels = np.asarray(image)
    pad_w, pad_h = size[0] - image.width, size[1] - image.height
    widths = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (pixels.ndim - 2)
    if fill is None:
        padded = np.pad(pixels, widths, mode="edge")
    else:
        padded = np.pad(pixels, widths, mode="constant", constant_values=fill)
    return Image.fromarray(padded, image.mode)
