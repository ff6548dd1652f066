"""What each mode adds to a pipeline call, and what it does to the images afterwards."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from studio.core.models import ModelInfo
from studio.core.request import MAX_SEED, GenerationRequest, Mode


def resolve_request(request: GenerationRequest, info: ModelInfo) -> GenerationRequest:
    """Fill in what the request left open: the size (the input image's for img2img and
    inpaint, else the model's native size) and a random seed."""
    changes: dict[str, Any] = {"model": info.id}
    if request.size is None:
        if request.mode.uses_init_image and request.init_image is not None:
            width, height = (max(8, side // 8 * 8) for side in request.init_image.size)
        else:
            width, height = info.native_size
        changes["width"] = request.width or width
        changes["height"] = request.height or height
    if request.seed is None:
        changes["seed"] = random.SystemRandom().randint(0, MAX_SEED)
    return dataclasses.replace(request, **changes)


@dataclasses.dataclass(frozen=True)
class ModeInputs:
    """Pipeline keyword arguments for the mode, plus what inpainting pastes back afterwards."""

    kwargs: dict[str, Any]
    init_image: Image.Image | None = None
    blend_mask: Image.Image | None = None

    @classmethod
    def prepare(cls, request: GenerationRequest) -> ModeInputs:
        size = (request.width, request.height)
        if request.mode is Mode.TXT2IMG:
            return cls({"width": request.width, "height": request.height})
        init = _fit(request.init_image.convert("RGB"), size, Image.Resampling.LANCZOS)
        if request.mode is Mode.IMG2IMG:
            return cls({"image": init, "strength": request.strength})
        mask = _fit(request.mask.convert("L"), size, Image.Resampling.NEAREST)
        mask = mask.point(lambda v: 255 if v >= 128 else 0)
        kwargs = {
            "image": init,
            "mask_image": mask,
            "strength": request.strength,
            "width": request.width,
            "height": request.height,
        }
        return cls(kwargs, init_image=init, blend_mask=feathered(mask, request.mask_feather))

    def finish(self, images: list[Image.Image]) -> list[Image.Image]:
        """Inpainting: paste the original back outside the mask, so those pixels are exact
        (a 4-channel UNet blends in latent space and the VAE round trip drifts)."""
        if self.init_image is None or self.blend_mask is None:
            return images
        original = np.asarray(self.init_image, dtype=np.float32)
        alpha = np.asarray(self.blend_mask, dtype=np.float32)[..., None] / 255.0
        finished = []
        for image in images:
            generated = np.asarray(image.convert("RGB"), dtype=np.float32)
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
