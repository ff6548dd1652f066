"""Scheduler (sampler) names the studio offers; the engine maps each to a diffusers class."""

from __future__ import annotations

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
