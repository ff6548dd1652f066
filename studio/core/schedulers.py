"""Scheduler (sampler) names the studio offers; the engine maps each to a diffusers class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCHEDULER_NAMES: tuple[str, ...] = (
    "DDIM",
    "DDPM",
    "Euler",
    "Euler a",
    "DPM++ 2M",
    "DPM++ 2M Karras",
    "UniPC",
    "LMS",
    "PNDM",
)

# Samplers for flow-matching models (SD3, FLUX.1): Euler and a higher-order one that takes
# the pipelines' sigmas and dynamic shift.
FLOW_SAMPLERS: tuple[str, ...] = ("Euler", "UniPC")

# Measured on snail-mini (zero terminal SNR, v-prediction; 64 prompts, 20 steps): these broke
# colour, shape and place where DDIM, Euler, DPM++ 2M and UniPC kept them (see its model card).
NOT_FOR_ZERO_TERMINAL_SNR = frozenset({"DPM++ 2M Karras", "LMS", "PNDM"})


def samplers_for(scheduler_config: Mapping[str, Any]) -> tuple[str, ...]:
    """The samplers that work on a model with this training schedule."""
    if scheduler_config.get("rescale_betas_zero_snr"):
        return tuple(n for n in SCHEDULER_NAMES if n not in NOT_FOR_ZERO_TERMINAL_SNR)
    return SCHEDULER_NAMES
