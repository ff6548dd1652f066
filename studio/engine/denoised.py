"""The model's estimate of the clean latents (x0) at each step, whatever the sampler.

`DenoisedTracker` wraps one scheduler instance's `step` (each request gets a fresh scheduler,
so nothing outlives the run). When the step's output carries `pred_original_sample` (DDIM,
DDPM, Euler, Euler a, LMS...) that is x0; otherwise (DPM++, UniPC, PNDM, flow matching) x0
is computed from the sample, the model output and the schedule.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers.schedulers.scheduling_utils import SchedulerMixin

# Zero terminal SNR makes alpha-bar 0 at the first step: epsilon prediction cannot say
# anything there, and the division must not blow up.
MIN_ALPHA_BAR = 1e-8


def estimate_clean(
    scheduler: SchedulerMixin,
    sample: torch.Tensor,
    model_output: torch.Tensor,
    timestep: torch.Tensor | float,
    sigma: torch.Tensor | None = None,
) -> torch.Tensor:
    """x0 from the sample the step was given, the model output and the schedule.

    Flow matching (no alpha-bar; x_t = (1 - sigma) x0 + sigma noise, output v = noise - x0):
    x0 = x_t - sigma v. Otherwise variance-preserving x_t = sqrt(ab) x0 + sqrt(1 - ab) eps.
    """
    flow = getattr(scheduler.config, "prediction_type", None) == "flow_prediction"
    if flow or not hasattr(scheduler, "alphas_cumprod"):  # UniPC on flow sigmas has both
        if sigma is None:
            raise ValueError("flow-matching x0 needs the step's sigma")
        return sample - sigma.to(sample.dtype) * model_output
    last = len(scheduler.alphas_cumprod) - 1
    index = int(torch.as_tensor(timestep).round().long().clamp(0, last))
    alpha_bar = scheduler.alphas_cumprod[index].to(sample.dtype)
    signal, noise = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    prediction = scheduler.config.prediction_type
    if prediction == "epsilon":
        return (sample - noise * model_output) / signal.clamp(min=MIN_ALPHA_BAR**0.5)
    if prediction == "v_prediction":
        return signal * sample - noise * model_output
    if prediction == "sample":
        return model_output
    raise ValueError(f"unknown prediction type {prediction!r}")


class DenoisedTracker:
    """Wraps `scheduler.step` on the instance and keeps the latest step's x0 in `latest`."""

    def __init__(self, scheduler: SchedulerMixin) -> None:
        self.scheduler = scheduler
        self.latest: torch.Tensor | None = None
        self._step = scheduler.step
        scheduler.step = self._tracked_step

    def restore(self) -> None:
        """Take the wrapper off again (the scheduler's own `step` shows through)."""
        self.scheduler.__dict__.pop("step", None)

    def _tracked_step(
        self,
        model_output: torch.Tensor,
        timestep: Any,
        sample: torch.Tensor,
        *args: Any,
        return_dict: bool = True,
        **kwargs: Any,
    ) -> Any:
        output = self._step(model_output, timestep, sample, *args, return_dict=True, **kwargs)
        clean = getattr(output, "pred_original_sample", None)
        if clean is None:
            clean = estimate_clean(
                self.scheduler, sample, model_output, timestep, self._sigma_of_last_step()
            )
        self.latest = clean
        return output if return_dict else output.to_tuple()

    def _sigma_of_last_step(self) -> torch.Tensor | None:
        sigmas = getattr(self.scheduler, "sigmas", None)
        index = getattr(self.scheduler, "step_index", None)
        if sigmas is None or index is None:
            return None
        return sigmas[index - 1]  # `step` has just moved the index on
