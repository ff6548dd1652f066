"""Scheduler names mapped to diffusers classes, built from a model's own scheduler config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    LMSDiscreteScheduler,
    PNDMScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from studio.core.errors import RequestError
from studio.core.schedulers import FLOW_SAMPLERS, SCHEDULER_NAMES, samplers_for

_SCHEDULERS: dict[str, tuple[type[SchedulerMixin], dict[str, Any]]] = {
    "DDIM": (DDIMScheduler, {}),
    # "trailing" spacing: with "leading" and steps_offset 1, 1000 steps index timestep 1000.
    "DDPM": (DDPMScheduler, {"timestep_spacing": "trailing"}),
    "Euler": (EulerDiscreteScheduler, {}),
    "Euler a": (EulerAncestralDiscreteScheduler, {}),
    "DPM++ 2M": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "DPM++ 2M Karras": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    "UniPC": (UniPCMultistepScheduler, {}),
    "LMS": (LMSDiscreteScheduler, {}),
    "PNDM": (PNDMScheduler, {"skip_prk_steps": True}),
}


_FLOW_SCHEDULERS: dict[str, Callable[[Any], SchedulerMixin]] = {
    "Euler": FlowMatchEulerDiscreteScheduler.from_config,
    "UniPC": lambda config: UniPCMultistepScheduler.from_config(
        config,
        use_flow_sigmas=True,
        prediction_type="flow_prediction",
        flow_shift=config.get("shift", 1.0),
    ),
}


def make_scheduler(name: str, base_config: Any) -> SchedulerMixin:
    """A fresh scheduler of kind `name` sharing the model's training schedule (a
    flow-matching schedule gets the flow-matching version of the sampler)."""
    if _is_flow(base_config):
        if name not in _FLOW_SCHEDULERS:
            raise RequestError(
                f"the {name} sampler does not run flow-matching models; use one of: "
                f"{', '.join(FLOW_SAMPLERS)}"
            )
        return _FLOW_SCHEDULERS[name](base_config)
    try:
        cls, overrides = _SCHEDULERS[name]
    except KeyError:
        raise RequestError(
            f"unknown scheduler {name!r}; use one of: {', '.join(SCHEDULER_NAMES)}"
        ) from None
    usable = samplers_for(base_config)
    if name not in usable:
        raise RequestError(
            f"the {name} sampler gives broken pictures on this model (trained with zero "
            f"terminal SNR); use one of: {', '.join(usable)}"
        )
    return cls.from_config(base_config, **overrides)


def _is_flow(config: Any) -> bool:
    """A flow-matching schedule: named so in a saved config, or (a config built in memory
    carries no class name) shifted sigmas and no betas."""
    if str(config.get("_class_name", "")).startswith("FlowMatch"):
        return True
    return "shift" in config and "beta_start" not in config
