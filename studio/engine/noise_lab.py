"""The forward process made visible: an image noised to any training timestep, decoded.

`NoiseLab` encodes the image once with the model's VAE and draws its noise once, the way the
img2img pipeline does for the same seed (posterior sample first, then the noise, from one
generator), so "denoise from here" (`img2img_request`) starts from this very noise: img2img
at `strength_for(t)` adds it at the sampler's first timestep, the one nearest `t`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers import DDPMScheduler
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image

from studio.core.request import GenerationRequest, Mode
from studio.engine.schedulers import make_scheduler
from studio.engine.timeline import decode_latents


@dataclass(frozen=True)
class ScheduleCurves:
    """The training schedule: alpha-bar (the signal's share of the variance) and SNR."""

    timesteps: np.ndarray
    alpha_bar: np.ndarray
    snr: np.ndarray  # alpha_bar / (1 - alpha_bar); inf at t=0 is clipped for plotting


def schedule_curves(scheduler_config: Any) -> ScheduleCurves:
    alpha_bar = DDPMScheduler.from_config(scheduler_config).alphas_cumprod.double().numpy()
    snr = alpha_bar / np.clip(1 - alpha_bar, 1e-12, None)
    return ScheduleCurves(np.arange(len(alpha_bar)), alpha_bar, snr)


def open_lab(engine: Any, model: str, image: Image.Image, seed: int) -> NoiseLab:
    """A lab on `model`, made resident through the engine."""
    resident = engine.resident(model)
    return NoiseLab(resident.base, resident.scheduler_config, image, seed)


class NoiseLab:
    def __init__(self, pipe: Any, scheduler_config: Any, image: Image.Image, seed: int) -> None:
        self.pipe = pipe
        self.seed = seed
        self.scheduler = DDPMScheduler.from_config(scheduler_config)
        self.scheduler_config = scheduler_config
        vae = pipe.vae
        pixels = pipe.image_processor.preprocess(image.convert("RGB")).to(vae.device, vae.dtype)
        generator = torch.Generator("cpu").manual_seed(seed)
        with torch.inference_mode():
            posterior = vae.encode(pixels).latent_dist
            self.clean = posterior.sample(generator) * vae.config.scaling_factor
            self.noise = randn_tensor(self.clean.shape, generator=generator, dtype=self.clean.dtype)
        self.size = (pixels.shape[-1], pixels.shape[-2])

    @property
    def last_timestep(self) -> int:
        return self.scheduler.config.num_train_timesteps - 1

    def latents_at(self, timestep: int) -> torch.Tensor:
        t = torch.tensor([min(max(int(timestep), 0), self.last_timestep)])
        return self.scheduler.add_noise(self.clean, self.noise, t)

    def image_at(self, timestep: int) -> Image.Image:
        return decode_latents(self.pipe, self.latents_at(timestep))

    def strength_for(self, timestep: int, scheduler: str, steps: int) -> float:
        """img2img strength whose first timestep is the sampler's timestep nearest `timestep`."""
        sampler = make_scheduler(scheduler, self.scheduler_config)
        sampler.set_timesteps(steps)
        distances = (sampler.timesteps.double() - timestep).abs()
        start = int(distances.argmin()) // getattr(sampler, "order", 1)
        return (steps - start) / steps

    def img2img_request(
        self, base: GenerationRequest, image: Image.Image, timestep: int
    ) -> GenerationRequest:
        """Denoise from `timestep`: img2img of the image with this lab's seed (its noise)."""
        strength = self.strength_for(timestep, base.scheduler, base.steps)
        return dataclasses.replace(
            base,
            mode=Mode.IMG2IMG,
            init_image=image,
            strength=strength,
            seed=self.seed,
            batch_size=1,
        )
