"""What each mode adds to a pipeline call, and what it does to the images afterwards.

An input image of a size the model does not work on is padded out to the next multiple
(`studio.core.padding`) and the result cropped back, so a 100x70 input gives a 100x70
result, undistorted, and inpainting leaves every pixel outside the mask as it was.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from studio.core.padding import pad, work_size
from studio.core.request import GenerationRequest, Mode


@dataclasses.dataclass(frozen=True)
class ModeInputs:
    """Pipeline keyword arguments for the mode, plus what is undone afterwards: the crop back
    to the asked size, and for inpainting the original pasted back outside the mask."""

    kwargs: dict[str, Any]
    size: tuple[int, int]
    init_image: Image.Image | None = None
    blend_mask: Image.Image | None = None

    @classmethod
    def prepare(
        cls, request: GenerationRequest, multiple: int, inpainting_model: bool = False
    ) -> ModeInputs:
        size = (request.width, request.height)
        if request.mode is Mode.TXT2IMG and not inpainting_model:
            return cls({"width": request.width, "height": request.height}, size)
        work = work_size(size, multiple)
        if request.mode is Mode.TXT2IMG:
            # An inpainting model draws from nothing: an empty image, all of it masked.
            init = Image.new("RGB", size, (127, 127, 127))
            mask = Image.new("L", size, 255)
            strength = 1.0
        else:
            init = _fit(request.init_image.convert("RGB"), size, Image.Resampling.LANCZOS)
            mask = (
                _fit(request.mask.convert("L"), size, Image.Resampling.NEAREST).point(
                    lambda v: 255 if v >= 128 else 0
                )
                if request.mode is Mode.INPAINT
                else Image.new("L", size, 255)
            )
            strength = request.strength
        kwargs: dict[str, Any] = {
            "image": pad(init, work),
            "strength": strength,
            "width": work[0],
            "height": work[1],
        }
        if request.mode is Mode.IMG2IMG and not inpainting_model:
            return cls(kwargs, size)
        kwargs["mask_image"] = pad(mask, work, fill=0)
        if request.mode is not Mode.INPAINT:
            return cls(kwargs, size)
        return cls(kwargs, size, init_image=init, blend_mask=feathered(mask, request.mask_feather))

    def finish(self, images: list[Image.Image]) -> list[Image.Image]:
        """Crop back to the asked size; inpainting pastes the original back outside the mask,
        so those pixels are exact (the VAE round trip drifts)."""
        width, height = self.size
        images = [image.convert("RGB").crop((0, 0, width, height)) for image in images]
        if self.init_image is None or self.blend_mask is None:
            return images
        original = np.asarray(self.init_image, dtype=np.float32)
        alpha = np.asarray(self.blend_mask, dtype=np.float32)[..., None] / 255.0
        finished = []
        for image in images:
            generated = np.asarray(image, dtype=np.float32)
            blended = original + (generated - original) * alpha
            finished.append(Image.fromarray(np.rint(blended).astype(np.uint8), "RGB"))
        return finished


def feathered(mask: Image.Image, radius: int) -> Image.Image:
    """Soften the mask's edge inwards only: nothing outside the painted mask changes."""
    if radius <= 0:
        return mask
    blurred = mask.filter(ImageFilter.GaussianBlur(radius / 2))
    return Image.fromarray(np.minimum(np.asarray(blurred), np.asarray(mask)), "L")


def _fit(image: Image.Image, size: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    return image if image.size == size else image.resize(size, resample)
