"""Everything one generation needs, in one frozen, serialisable value."""

from __future__ import annotations

import dataclasses
import enum
import random
from dataclasses import dataclass
from typing import Any

from PIL import Image

from studio.core.errors import RequestError
from studio.core.loras import LoraRef, lora_ref_from, merged_loras, split_prompt_loras
from studio.core.models import ModelInfo

DEFAULT_MODEL = "snail-mini"
DEFAULT_SCHEDULER = "DDIM"
MAX_SEED = 2**32 - 1
MAX_SIDE = 4096
MAX_BATCH = 16
MAX_GUIDANCE = 50
MAX_LORA_WEIGHT = 10


class Mode(enum.StrEnum):
    TXT2IMG = "txt2img"
    IMG2IMG = "img2img"
    INPAINT = "inpaint"

    @property
    def label(self) -> str:
        return {"txt2img": "Text to image", "img2img": "Image to image", "inpaint": "Inpaint"}[
            self.value
        ]

    @property
    def uses_init_image(self) -> bool:
        return self is not Mode.TXT2IMG


@dataclass(frozen=True)
class GenerationRequest:
    """One generation. Batches and sweeps are `dataclasses.replace` of one request.

    `width`/`height` of None mean the model's native size, and `seed` of None a random seed;
    the engine resolves both before it runs, so a result always holds concrete values.
    """

    prompt: str
    negative_prompt: str = ""
    mode: Mode = Mode.TXT2IMG
    model: str = DEFAULT_MODEL
    scheduler: str = DEFAULT_SCHEDULER
    steps: int = 20
    guidance_scale: float = 7.5
    true_cfg_scale: float = 1.0  # FLUX.1: real CFG with the negative prompt when above 1
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    strength: float = 0.75
    init_image: Image.Image | None = dataclasses.field(default=None, compare=False, repr=False)
    mask: Image.Image | None = dataclasses.field(default=None, compare=False, repr=False)
    mask_feather: int = 4
    batch_size: int = 1
    loras: tuple[LoraRef, ...] = ()  # the LoRA panel's; `<lora:...>` prompt tags add to them

    def validate(self) -> None:
        """Raise `RequestError` with a specific message for the first problem found."""
        if not isinstance(self.mode, Mode):
            raise RequestError(f"unknown mode {self.mode!r}; use one of {[m.value for m in Mode]}")
        if not self.model:
            raise RequestError("no model given")
        if not 1 <= self.steps <= 1000:
            raise RequestError(f"steps must be between 1 and 1000, got {self.steps}")
        if not 0 <= self.guidance_scale <= MAX_GUIDANCE:
            raise RequestError(
                f"guidance scale must be between 0 and {MAX_GUIDANCE}, got {self.guidance_scale}"
            )
        if not 1 <= self.true_cfg_scale <= MAX_GUIDANCE:
            raise RequestError(
                f"true CFG scale must be between 1 and {MAX_GUIDANCE}, got {self.true_cfg_scale}"
            )
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise RequestError(f"seed must be between 0 and {MAX_SEED}, got {self.seed}")
        for name, side in (("width", self.width), ("height", self.height)):
            if side is None:
                continue
            if side <= 0:
                raise RequestError(f"{name} must be positive, got {side}")
            if side > MAX_SIDE:
                raise RequestError(f"{name} must be at most {MAX_SIDE}, got {side}")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise RequestError(
                f"batch size must be between 1 and {MAX_BATCH}, got {self.batch_size}"
            )
        if not 0 <= self.mask_feather <= 64:
            raise RequestError(
                f"mask feather must be between 0 and 64 pixels, got {self.mask_feather}"
            )
        for lora in self.applied_loras:
            if not abs(lora.weight) <= MAX_LORA_WEIGHT:
                raise RequestError(
                    f"LoRA '{lora.name}' weight must be between -{MAX_LORA_WEIGHT} and "
                    f"{MAX_LORA_WEIGHT}, got {lora.weight}"
                )
        if self.mode.uses_init_image:
            self._validate_images()

    def _validate_images(self) -> None:
        if not 0.0 < self.strength <= 1.0:
            raise RequestError(f"strength must be above 0 and at most 1, got {self.strength}")
        if self.init_image is None:
            raise RequestError(f"{self.mode.value} needs an input image")
        if self.mode is Mode.INPAINT:
            if self.mask is None:
                raise RequestError("inpaint needs a mask (white = repaint)")
            if self.mask.size != self.init_image.size:
                mw, mh = self.mask.size
                iw, ih = self.init_image.size
                raise RequestError(f"mask is {mw}x{mh} but the input image is {iw}x{ih}")

    def to_dict(self) -> dict[str, Any]:
        """The request as JSON-ready data; images are described, not embedded."""
        data = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("init_image", "mask")
        }
        data["mode"] = self.mode.value
        data["loras"] = [lora.to_dict() for lora in self.loras]
        data["init_image"] = _describe(self.init_image)
        data["mask"] = _describe(self.mask)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRequest:
        """Rebuild a request from `to_dict` output; unknown keys are ignored, images left out."""
        names = {f.name for f in dataclasses.fields(cls)} - {"init_image", "mask"}
        kwargs = {k: v for k, v in data.items() if k in names}
        if "mode" in kwargs:
            try:
                kwargs["mode"] = Mode(kwargs["mode"])
            except ValueError as exc:
                raise RequestError(f"unknown mode {kwargs['mode']!r}") from exc
        if "loras" in kwargs:
            kwargs["loras"] = _loras_from(kwargs["loras"])
        return cls(**kwargs)

    @property
    def applied_loras(self) -> tuple[LoraRef, ...]:
        """The panel's LoRAs merged with the prompt's `<lora:name:weight>` tags."""
        return merged_loras(self.prompt, self.loras)

    @property
    def encoder_prompt(self) -> str:
        """The prompt the text encoder reads: without its `<lora:...>` tags."""
        return split_prompt_loras(self.prompt)[0]

    @property
    def size(self) -> tuple[int, int] | None:
        if self.width is None or self.height is None:
            return None
        return self.width, self.height


def _loras_from(value: object) -> tuple[LoraRef, ...]:
    if not isinstance(value, list | tuple):
        raise RequestError(f"loras must be a list, got {value!r}")
    refs = [lora_ref_from(item) for item in value]
    if any(ref is None for ref in refs):
        raise RequestError(f"bad LoRA in {value!r}: each needs a name and a numeric weight")
    return tuple(ref for ref in refs if ref is not None)


def _describe(image: Image.Image | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {"width": image.width, "height": image.height, "mode": image.mode}


def resolve_request(request: GenerationRequest, info: ModelInfo) -> GenerationRequest:
    """Fill in what the request left open: the size (the input image's for img2img and
    inpaint, else the model's native size) and a random seed; check the size fits."""
    changes: dict[str, Any] = {"model": info.id}
    if request.size is None:
        if request.mode.uses_init_image and request.init_image is not None:
            width, height = request.init_image.size
        else:
            width, height = info.native_size
        changes["width"] = request.width or width
        changes["height"] = request.height or height
    if request.seed is None:
        changes["seed"] = random.SystemRandom().randint(0, MAX_SEED)
    resolved = dataclasses.replace(request, **changes)
    if not resolved.mode.uses_init_image:
        multiple = info.size_multiple
        for name, side in (("width", resolved.width), ("height", resolved.height)):
            if side % multiple:
                raise RequestError(
                    f"{name} must be a multiple of {multiple} for {info.family_label or info.name}"
                    f", got {side}"
                )
    return resolved
