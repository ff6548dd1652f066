"""Stable Diffusion 1.x and 2.x (and snail-mini, an SD-architecture model of our own).

UNet with 4 latent channels, VAE scale 8, one CLIP (1.x) or OpenCLIP-H (2.x) text encoder.
SD 2.x single files are read as 768 px v-prediction (2.1, diffusers' default for them);
inpainting checkpoints have a 9-channel UNet and run every mode through the inpaint pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diffusers import DiffusionPipeline, StableDiffusionPipeline

from studio.core.models import ModelInfo
from studio.engine.checkpoints import CheckpointHeader
from studio.engine.families.base import FamilyAdapter, Variant, read_config
from studio.engine.families.lora_keys import (
    LoraTarget,
    cross_attention_width,
    has_prefix,
    is_unet_lora,
)

# Published SD 1.x latent-to-RGB factors: rows are latent channels, columns R, G, B.
SD1_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)

SDXL_TEXT_ENCODERS = ("lora_te1_", "lora_te2_", "text_encoder_2.")
SDXL_CONTEXT = 2048  # CLIP-L 768 + OpenCLIP-bigG 1280


class StableDiffusion(FamilyAdapter):
    key = "sd"
    families = frozenset({"sd1", "sd2", "snail-mini", "sd-custom"})
    pipelines = frozenset({"StableDiffusionPipeline", "StableDiffusionInpaintPipeline"})
    variants: Mapping[str, Variant] = {
        "v1": Variant("v1", "SD 1.5", "sd1", 512, context_width=768),
        "inpainting": Variant(
            "inpainting", "SD 1.5 inpainting", "sd1", 512, inpainting=True, context_width=768
        ),
        "v2": Variant("v2", "SD 2.x", "sd2", 768, context_width=1024),
        "inpainting_v2": Variant(
            "inpainting_v2", "SD 2.x inpainting", "sd2", 512, inpainting=True, context_width=1024
        ),
    }
    preview_factors = SD1_FACTORS

    def variant_of_folder(self, path: Path, index: Mapping[str, Any]) -> Variant:
        unet = read_config(path / "unet" / "config.json")
        inpainting = unet.get("in_channels") == 9
        if unet.get("cross_attention_dim") == 1024:
            return self.variants["inpainting_v2" if inpainting else "v2"]
        return self.variants["inpainting" if inpainting else "v1"]

    def pipeline_class(self, info: ModelInfo) -> type[DiffusionPipeline]:
        return StableDiffusionPipeline

    def lora_target(self, header: CheckpointHeader) -> LoraTarget | None:
        """Kohya `lora_unet_`/`lora_te_` or diffusers `unet.`/`text_encoder.` with one text
        encoder; the context width tells 1.x (768) from 2.x (1024) and from SDXL (2048)."""
        if not is_unet_lora(header) or has_prefix(header, SDXL_TEXT_ENCODERS):
            return None
        width = cross_attention_width(header)
        if width == SDXL_CONTEXT:
            return None
        label = {768: "SD 1.x", 1024: "SD 2.x"}.get(width or 0, "SD 1.x/2.x architecture")
        return LoraTarget(self.key, label, width)

    def extra_parts(self, info: ModelInfo) -> dict[str, Any]:
        return {"safety_checker": None, "requires_safety_checker": False}
