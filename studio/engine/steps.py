"""One step's data as the engine hands it out: the noisy latents and the clean estimate.

Consumers (the timeline, attention maps) are `StepObserver`s passed to `Engine.generate`:
each is attached to the pipeline for the call, sees every step's `StepRecord`, and is
detached afterwards, also when the run fails or is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch


@dataclass(frozen=True)
class StepRecord:
    step: int  # 1-based
    total: int
    timestep: float
    latents: torch.Tensor  # x_t after this step, (B, C, h, w): packed latents are unpacked
    denoised: torch.Tensor | None  # the model's estimate of the clean latents (x0), the same


class StepObserver(Protocol):
    def attach(self, pipe: Any) -> None: ...

    def record(self, step: StepRecord) -> None: ...

    def detach(self, pipe: Any) -> None: ...
