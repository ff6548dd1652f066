"""Every step of a run kept in memory (x0 and x_t latents), decodable with the real VAE.

`Timeline` is a `StepObserver`: pass it to `Engine.generate(..., observers=[timeline])`. It
keeps copies of the first image's latents of each step within a byte budget (when full, the
oldest steps go first, but the first step is kept as the start of the story), and it holds
the pipeline's VAE so any kept step can be decoded at full quality after the run. The
engine hands out latents on the latent grid (FLUX.1's packed ones unpacked), so one decode
serves every family, and the noise lab too (`decode_latents`).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from studio.core.animations import check_animation_path, write_animation
from studio.engine.steps import StepRecord

DEFAULT_BUDGET_BYTES = 256 * 2**20


class Latent(enum.StrEnum):
    CLEAN = "x0"  # the model's estimate of the finished image
    NOISY = "xt"  # what the sampler holds at that step


@dataclass(frozen=True)
class KeptStep:
    step: int
    timestep: float
    clean: torch.Tensor  # (1, C, h, w)
    noisy: torch.Tensor

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.clean, self.noisy))

    def latents(self, which: Latent) -> torch.Tensor:
        return self.clean if which is Latent.CLEAN else self.noisy


class Timeline:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self.total = 0
        self._steps: OrderedDict[int, KeptStep] = OrderedDict()
        self._pipe: Any = None

    # -- StepObserver ----------------------------------------------------------------------

    def attach(self, pipe: Any) -> None:
        self._pipe = pipe
        self._steps.clear()

    def record(self, step: StepRecord) -> None:
        noisy = step.latents[:1].detach().clone()
        clean = noisy if step.denoised is None else step.denoised[:1].detach().clone()
        self.total = step.total
        self._steps[step.step] = KeptStep(step.step, step.timestep, clean, noisy)
        self._keep_within_budget()

    def detach(self, pipe: Any) -> None:
        """The VAE stays referenced: decoding a step after the run is the point."""

    # -- reading ---------------------------------------------------------------------------

    @property
    def steps(self) -> list[int]:
        return list(self._steps)

    @property
    def nbytes(self) -> int:
        return sum(kept.nbytes for kept in self._steps.values())

    def latents(self, step: int, which: Latent = Latent.CLEAN) -> torch.Tensor:
        return self._kept(step).latents(which)

    def decode(self, step: int, which: Latent = Latent.CLEAN) -> Image.Image:
        """One step at full quality through the model's VAE."""
        if self._pipe is None:
            raise RuntimeError("the timeline has recorded no run")
        return decode_latents(self._pipe, self.latents(step, which))

    def frames(self, which: Latent = Latent.CLEAN) -> list[Image.Image]:
        return [self.decode(step, which) for step in self._steps]

    def export(self, path: Path, which: Latent = Latent.CLEAN) -> Path:
        """An animated WebP or GIF (the last frame held longer), or an MP4 when PyAV is
        installed: one frame per kept step."""
        check_animation_path(path, "the timeline")  # before decoding every step
        return write_animation(self.frames(which), path)

    def _kept(self, step: int) -> KeptStep:
        try:
            return self._steps[step]
        except KeyError:
            raise KeyError(f"step {step} is not kept (kept: {self.steps})") from None

    def _keep_within_budget(self) -> None:
        while len(self._steps) > 2 and self.nbytes > self.budget_bytes:
            second = list(self._steps)[1]
            del self._steps[second]


def decode_latents(pipe: Any, latents: torch.Tensor) -> Image.Image:
    """The pipeline's own VAE decode and post-processing, for one image's latents on the
    latent grid (SD3 and FLUX.1 VAEs add their shift back)."""
    vae = pipe.vae
    with torch.inference_mode():
        scaled = latents.to(vae.dtype) / vae.config.scaling_factor
        shift = getattr(vae.config, "shift_factor", None)
        if shift:
            scaled = scaled + shift
        pixels = vae.decode(scaled, return_dict=False)[0]
    return pipe.image_processor.postprocess(pixels.float(), output_type="pil")[0]
