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
from studio.engine.families.base import FamilyAdapter, Variant, read_config

# Published SD 1.x latent-to-RGB factors: rows are latent channels, columns R, G, B.
SD1_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)


class StableDiffusion(FamilyAdapter):
    key = "sd"
    families = frozenset({"sd1", "sd2", "snail-mini", "sd-custom"})
    pipelines = frozenset({"StableDiffusionPipeline", "StableDiffusionInpaintPipeline"})
    variants: Mapping[str, Variant] = {
        "v1": Variant("v1", "SD 1.5", "sd1", 512),
        "inpainting": Variant("inpainting", "SD 1.5 inpainting", "sd1", 512, inpainting=True),
        "v2": Variant("v2", "SD 2.x", "sd2", 768),
        "inpainting_v2": Variant("inpainting_v2", "SD 2.x inpainting", "sd2", 512, inpainting=True),
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

    def extra_parts(self, info: ModelInfo) -> dict[str, Any]:
        return {"safety_checker": None, "requires_safety_checker": False}
