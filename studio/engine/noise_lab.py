"""The forward process made visible: an image noised to any training timestep, decoded.

`NoiseLab` encodes the image once with the model's VAE and draws its noise once, the way the
model's img2img pipeline does for the same seed (the image padded to the model's size
multiple as the engine pads it; posterior sample first, then the noise, from one generator),
so "denoise from here" (`img2img_request`) starts from this very noise: img2img at
`strength_for(t)` adds it at the sampler's first timestep, the one nearest `t`'s noise level.
How training noised the latents (variance-preserving or flow matching, and a flow model's
shift for this image size) is the family adapter's answer (`forward_process`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image

from studio.core.padding import pad, work_size
from studio.core.request import GenerationRequest, Mode
from studio.engine.families import FamilyAdapter
from studio.engine.forward_process import ScheduleCurves
from studio.engine.schedulers import make_scheduler
from studio.engine.timeline import decode_latents


def open_lab(engine: Any, model: str, image: Image.Image, seed: int) -> NoiseLab:
    """A lab on `model`, made resident through the engine."""
    resident = engine.resident(model)
    return NoiseLab(resident.base, resident.adapter, resident.scheduler_config, image, seed)


class NoiseLab:
    def __init__(
        self,
        pipe: Any,
        adapter: FamilyAdapter,
        scheduler_config: Any,
        image: Image.Image,
        seed: int,
    ) -> None:
        self.pipe = pipe
        self.adapter = adapter
        self.seed = seed
        self.scheduler_config = scheduler_config
        self.size = image.size
        self.work = work_size(image.size, adapter.size_multiple)
        self.forward = adapter.forward_process(pipe, scheduler_config, *self.work)
        vae = pipe.vae
        padded = pad(image.convert("RGB"), self.work)
        pixels = pipe.image_processor.preprocess(padded).to(vae.device, vae.dtype)
        generator = torch.Generator("cpu").manual_seed(seed)
        with torch.inference_mode():
            posterior = vae.encode(pixels).latent_dist
            shift = getattr(vae.config, "shift_factor", None) or 0.0
            self.clean = (posterior.sample(generator) - shift) * vae.config.scaling_factor
            self.noise = randn_tensor(self.clean.shape, generator=generator, dtype=self.clean.dtype)

    @property
    def last_timestep(self) -> int:
        return self.forward.last_timestep

    def curves(self) -> ScheduleCurves:
        return self.forward.curves()

    def latents_at(self, timestep: int) -> torch.Tensor:
        timestep = min(max(int(timestep), 0), self.last_timestep)
        return self.forward.noised(self.clean, self.noise, timestep)

    def image_at(self, timestep: int) -> Image.Image:
        image = decode_latents(self.pipe, self.latents_at(timestep))
        return image.crop((0, 0, *self.size))

    def strength_for(self, timestep: int, scheduler: str, steps: int) -> float:
        """img2img strength whose first timestep is the sampler's timestep nearest the noise
        level of `timestep`, on the timesteps this model's img2img pipeline sets."""
        sampler = make_scheduler(scheduler, self.scheduler_config)
        timesteps = self.adapter.img2img_timesteps(self.pipe, sampler, steps, *self.work)
        distances = (timesteps.double() - self.forward.model_timestep(timestep)).abs()
        start = int(distances.argmin()) // getattr(sampler, "order", 1)
        strength = (steps - start) / steps
        # The pipelines start at int(steps - steps * strength): keep float rounding from
        # making that one step early.
        while steps - min(steps * strength, steps) < start:
            strength = math.nextafter(strength, 0)
        return strength

    def img2img_request(
        self, base: GenerationRequest, image: Image.Image, timestep: int
    ) -> GenerationRequest:
        """Denoise from `timestep`: img2img of the image at its own size with this lab's seed
        (its noise)."""
        strength = self.strength_for(timestep, base.scheduler, base.steps)
        return dataclasses.replace(
            base,
            mode=Mode.IMG2IMG,
            init_image=image,
            width=image.width,
            height=image.height,
            strength=strength,
            seed=self.seed,
            batch_size=1,
        )
