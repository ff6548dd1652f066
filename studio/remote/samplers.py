"""Our sampler names as ComfyUI's (sampler_name, scheduler) pairs, and back."""

from __future__ import annotations

from studio.core.errors import RequestError
from studio.core.metadata import normalize_scheduler
from studio.core.schedulers import FLOW_SAMPLERS, SCHEDULER_NAMES

_TO_COMFY: dict[str, tuple[str, str]] = {
    "DDIM": ("ddim", "ddim_uniform"),
    "DDPM": ("ddpm", "normal"),
    "Euler": ("euler", "normal"),
    "Euler a": ("euler_ancestral", "normal"),
    "DPM++ 2M": ("dpmpp_2m", "normal"),
    "DPM++ 2M Karras": ("dpmpp_2m", "karras"),
    "UniPC": ("uni_pc", "normal"),
    "LMS": ("lms", "normal"),
}
_FROM_COMFY = {pair: name for name, pair in _TO_COMFY.items()}

# ComfyUI has no PNDM (its `ipndm` is a different solver), so servers do not offer it.
REMOTE_SAMPLERS: tuple[str, ...] = tuple(n for n in SCHEDULER_NAMES if n in _TO_COMFY)
# Flow-matching models (FLUX.1, SD3) step on ComfyUI's `simple` schedule, as its examples do.
FLOW_SCHEDULE = "simple"


def to_comfy(scheduler: str, flow: bool = False) -> tuple[str, str]:
    """ComfyUI's KSampler `sampler_name` and `scheduler` for one of our names; `flow` for a
    flow-matching model, which takes only the flow samplers (as in the local engine)."""
    try:
        sampler_name, schedule = _TO_COMFY[scheduler]
    except KeyError:
        raise RequestError(
            f"{scheduler} has no ComfyUI sampler; use one of {', '.join(REMOTE_SAMPLERS)}"
        ) from None
    if not flow:
        return sampler_name, schedule
    if scheduler not in FLOW_SAMPLERS:
        raise RequestError(
            f"the {scheduler} sampler does not run flow-matching models; use one of: "
            f"{', '.join(FLOW_SAMPLERS)}"
        )
    return sampler_name, FLOW_SCHEDULE


def from_comfy(sampler_name: str, scheduler: str) -> str:
    """Our name for a ComfyUI pair; pairs we never send go through the general alias table."""
    return _FROM_COMFY.get((sampler_name, scheduler)) or normalize_scheduler(
        sampler_name, scheduler
    )
