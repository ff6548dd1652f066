"""One adapter per model family; the engine and the library ask these, never a family name."""

from __future__ import annotations

from typing import Any

from studio.core.errors import ModelError
from studio.core.models import ModelInfo
from studio.engine.attention_hooks import AttentionHooks
from studio.engine.families.base import FamilyAdapter, Variant
from studio.engine.families.flux import Flux
from studio.engine.families.sd import StableDiffusion
from studio.engine.families.sd3 import StableDiffusion3
from studio.engine.families.sdxl import StableDiffusionXL

ADAPTERS: tuple[FamilyAdapter, ...] = (
    StableDiffusion(),
    StableDiffusionXL(),
    StableDiffusion3(),
    Flux(),
)

__all__ = [
    "ADAPTERS",
    "FamilyAdapter",
    "Variant",
    "adapter_for",
    "attention_hooks",
    "by_model_type",
    "by_pipeline",
]


def adapter_for(info: ModelInfo) -> FamilyAdapter:
    for adapter in ADAPTERS:
        if info.family in adapter.families:
            return adapter
    raise ModelError(f"{info.name}: no adapter runs the {info.family!r} family")


def by_pipeline(class_name: str) -> FamilyAdapter | None:
    return next((a for a in ADAPTERS if class_name in a.pipelines), None)


def by_model_type(model_type: str) -> tuple[FamilyAdapter, Variant] | None:
    for adapter in ADAPTERS:
        if model_type in adapter.variants:
            return adapter, adapter.variants[model_type]
    return None


def attention_hooks(pipe: Any) -> AttentionHooks:
    """How the adapter of `pipe`'s denoiser records its attention maps."""
    for adapter in ADAPTERS:
        hooks = adapter.attention_hooks(pipe)
        if hooks is not None:
            return hooks
    raise ModelError(f"no attention maps for {type(pipe).__name__}: no adapter hooks its denoiser")
