"""How a model's training noised its latents, at any training timestep: the noise lab's view.

Two kinds, and each family adapter says which its models use (`FamilyAdapter.forward_process`):

- `VariancePreserving` (SD 1.x/2.x, SDXL): x_t = sqrt(ab) x0 + sqrt(1 - ab) noise, alpha-bar
  (ab) from the training betas; timesteps 0..N-1, and the model is conditioned on t itself.
- `FlowMatching` (SD3, FLUX.1): x_t = (1 - sigma) x0 + sigma noise. Training draws t in
  1..N and sigma = t/N, shifted towards noise (SD3's fixed `shift`; FLUX.1's shift grows with
  the image's token count, `mu`); the model is conditioned on sigma N. Here t runs 0..N, with
  sigma 0 (the clean latents) at t = 0 and sigma 1 (pure noise) at t = N.

Both give their curves on one scale: the signal's share of the variance, SNR / (1 + SNR).
For variance-preserving models that is alpha-bar itself; for flow matching it is the
alpha-bar of the variance-preserving process with the same SNR, (1 - s)^2 / ((1 - s)^2 + s^2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from diffusers import DDPMScheduler, FlowMatchEulerDiscreteScheduler


@dataclass(frozen=True)
class ScheduleCurves:
    """The training schedule over the lab's timesteps: the signal's share and the SNR."""

    timesteps: np.ndarray
    signal: np.ndarray  # SNR / (1 + SNR), from 1 (all signal) down to 0
    snr: np.ndarray  # infinite where there is no noise (flow matching's t = 0)
    signal_name: str  # what `signal` is called for this kind of model, short
    signal_label: str  # the same, said in full (a plot's axis)


class ForwardProcess(Protocol):
    last_timestep: int

    def noised(self, clean: torch.Tensor, noise: torch.Tensor, timestep: int) -> torch.Tensor:
        """The latents at training timestep `timestep` (0..last_timestep)."""

    def model_timestep(self, timestep: int) -> float:
        """What the model is conditioned on at `timestep`: the samplers' timestep scale."""

    def curves(self) -> ScheduleCurves: ...


def _snr(signal: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return signal / (1 - signal)


class VariancePreserving:
    def __init__(self, scheduler_config: Any) -> None:
        self.scheduler = DDPMScheduler.from_config(scheduler_config)
        self.last_timestep = self.scheduler.config.num_train_timesteps - 1

    def noised(self, clean: torch.Tensor, noise: torch.Tensor, timestep: int) -> torch.Tensor:
        return self.scheduler.add_noise(clean, noise, torch.tensor([timestep]))

    def model_timestep(self, timestep: int) -> float:
        return float(timestep)

    def curves(self) -> ScheduleCurves:
        alpha_bar = self.scheduler.alphas_cumprod.double().numpy()
        return ScheduleCurves(
            np.arange(len(alpha_bar)),
            alpha_bar,
            _snr(alpha_bar),
            "alpha-bar",
            "alpha-bar (signal share)",
        )


class FlowMatching:
    """The model's own flow-matching scheduler holds the sigmas: its shift (fixed, or dynamic
    with `mu`) is applied to the training grid t/N, t = N..1, and it appends sigma 0."""

    def __init__(self, scheduler_config: Any, mu: float | None = None) -> None:
        self.scheduler = FlowMatchEulerDiscreteScheduler.from_config(scheduler_config)
        steps = self.scheduler.config.num_train_timesteps
        self.scheduler.set_timesteps(sigmas=np.linspace(1.0, 1.0 / steps, steps), mu=mu)
        self.last_timestep = steps
        self.sigmas = self.scheduler.sigmas.flip(0)  # by timestep: sigma 0 at t = 0

    def noised(self, clean: torch.Tensor, noise: torch.Tensor, timestep: int) -> torch.Tensor:
        # As img2img starts: the scheduler's begin index picks the sigma (`scale_noise`).
        self.scheduler.set_begin_index(self.last_timestep - timestep)
        model_timestep = torch.tensor([self.model_timestep(timestep)])
        return self.scheduler.scale_noise(clean, model_timestep, noise)

    def model_timestep(self, timestep: int) -> float:
        return float(self.sigmas[timestep]) * self.scheduler.config.num_train_timesteps

    def curves(self) -> ScheduleCurves:
        sigma = self.sigmas.double().numpy()
        signal = (1 - sigma) ** 2 / ((1 - sigma) ** 2 + sigma**2)
        return ScheduleCurves(
            np.arange(len(sigma)),
            signal,
            _snr(signal),
            "signal share",
            "signal share\n(alpha-bar analog)",
        )
