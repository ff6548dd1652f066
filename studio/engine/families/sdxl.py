"""SDXL (and its descendants: Pony, Illustrious, NoobAI share the architecture).

Two text encoders (CLIP-L and OpenCLIP-bigG) with pooled embeddings, size micro-conditioning
(diffusers' SDXL pipelines fill `original_size`/`target_size` from the output size), a
4-channel latent at scale 8, 1024 px native. SDXL inpainting checkpoints have a 9-channel UNet.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diffusers import DiffusionPipeline, StableDiffusionXLPipeline

from studio.core.models import ModelInfo
from studio.engine.checkpoints import CheckpointHeader
from studio.engine.families.base import FamilyAdapter, Variant, read_config
from studio.engine.families.lora_keys import LoraTarget, down_width, has_prefix, is_unet_lora
from studio.engine.families.sd import SDXL_CONTEXT, SDXL_TEXT_ENCODERS

# Published SDXL latent-to-RGB factors and bias (rows: latent channels; columns: R, G, B).
SDXL_FACTORS = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
SDXL_BIAS = (0.1084, -0.0175, -0.0011)


class StableDiffusionXL(FamilyAdapter):
    key = "sdxl"
    families = frozenset({"sdxl"})
    pipelines = frozenset({"StableDiffusionXLPipeline", "StableDiffusionXLInpaintPipeline"})
    variants: Mapping[str, Variant] = {
        "xl_base": Variant(
            "xl_base", "SDXL", "sdxl", 1024, default_steps=30, context_width=SDXL_CONTEXT
        ),
        "xl_inpaint": Variant(
            "xl_inpaint",
            "SDXL inpainting",
            "sdxl",
            1024,
            inpainting=True,
            default_steps=30,
            context_width=SDXL_CONTEXT,
        ),
        "xl_refiner": Variant(
            "xl_refiner",
            "SDXL refiner",
            "sdxl",
            1024,
            problem="an SDXL refiner: it only refines a base model's images (not supported yet)",
        ),
        "playground-v2-5": Variant(
            "playground-v2-5", "Playground v2.5", "sdxl", 1024, context_width=SDXL_CONTEXT
        ),
    }
    preview_factors = SDXL_FACTORS
    preview_bias = SDXL_BIAS

    def variant_of_folder(self, path: Path, index: Mapping[str, Any]) -> Variant:
        unet = read_config(path / "unet" / "config.json")
        if unet.get("in_channels") == 9:
            return self.variants["xl_inpaint"]
        if not index.get("text_encoder"):
            return self.variants["xl_refiner"]
        return self.variants["xl_base"]

    def pipeline_class(self, info: ModelInfo) -> type[DiffusionPipeline]:
        return StableDiffusionXLPipeline

    def lora_target(self, header: CheckpointHeader) -> LoraTarget | None:
        """Two text encoders (Kohya `lora_te1_`/`lora_te2_`, diffusers `text_encoder_2.`), or
        a UNet-only LoRA whose cross-attention reads SDXL's 2048-wide context."""
        width = down_width(header, "attn2", "to_k")
        if has_prefix(header, SDXL_TEXT_ENCODERS) or (
            is_unet_lora(header) and width == SDXL_CONTEXT
        ):
            return LoraTarget(self.key, "SDXL", width)
        return None
