"""Stable Diffusion 3 and 3.5 (medium and large): an MMDiT on 16 latent channels with three
text encoders, CLIP-L, CLIP-G and T5-XXL. T5 is optional: without it (absent, or too big for
this machine) the model runs on the two CLIPs, and says so."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from diffusers import DiffusionPipeline, SD3Transformer2DModel, StableDiffusion3Pipeline

from studio.core.models import ModelInfo
from studio.core.request import GenerationRequest
from studio.engine.attention_hooks import ContextTokens
from studio.engine.checkpoints import CheckpointHeader
from studio.engine.families.base import Variant
from studio.engine.families.lora_keys import FLUX_WIDTH, LoraTarget, names_with, transformer_lora
from studio.engine.families.parts import Part
from studio.engine.families.transformers_base import TransformerFamily
from studio.engine.joint_attention import JointAttentionHooks

# Published SD3 latent-to-RGB factors (16 latent channels; columns R, G, B) and bias.
SD3_FACTORS = (
    (-0.0922, -0.0175, 0.0749), (0.0311, 0.0633, 0.0954), (0.1994, 0.0927, 0.0458),
    (0.0856, 0.0339, 0.0902), (0.0587, 0.0272, -0.0496), (-0.0006, 0.1104, 0.0309),
    (0.0978, 0.0306, 0.0427), (-0.0042, 0.1038, 0.1358), (-0.0194, 0.0020, 0.0669),
    (-0.0488, 0.0130, -0.0268), (0.0922, 0.0988, 0.0951), (-0.0278, 0.0524, -0.0542),
    (0.0332, 0.0456, 0.0895), (-0.0069, -0.0030, -0.0810), (-0.0596, -0.0465, -0.0293),
    (-0.1448, -0.1463, -0.1189),
)  # fmt: skip
SD3_BIAS = (0.2394, 0.2135, 0.1925)


class StableDiffusion3(TransformerFamily):
    key = "sd3"
    families = frozenset({"sd3"})
    pipelines = frozenset({"StableDiffusion3Pipeline"})
    variants: Mapping[str, Variant] = {
        "sd3": Variant("sd3", "SD3 medium", "sd3", 1024, default_steps=28, default_guidance=7.0),
        "sd35_medium": Variant(
            "sd35_medium", "SD3.5 medium", "sd3", 1024, default_steps=40, default_guidance=4.5
        ),
        "sd35_large": Variant(
            "sd35_large", "SD3.5 large", "sd3", 1024, default_steps=28, default_guidance=3.5
        ),
    }
    parts = (
        Part("text_encoder", "clip_l", "CLIP-L", ("text_encoders.clip_l.",)),
        Part("text_encoder_2", "clip_g", "CLIP-G", ("text_encoders.clip_g.",)),
        Part("text_encoder_3", "t5xxl", "T5-XXL", ("text_encoders.t5xxl.",), required=False),
        Part("vae", "vae16", "VAE", ("first_stage_model.", "vae.")),
    )
    transformer_class = SD3Transformer2DModel
    preview_factors = SD3_FACTORS
    preview_bias = SD3_BIAS

    def folder_variant(self, transformer: dict[str, Any]) -> str:
        if transformer.get("num_layers", 0) >= 38:
            return "sd35_large"
        return "sd35_medium" if transformer.get("dual_attention_layers") else "sd3"

    def pipeline_class(self, info: ModelInfo) -> type[DiffusionPipeline]:
        return StableDiffusion3Pipeline

    def family_arguments(self, request: GenerationRequest) -> dict[str, Any]:
        return {"max_sequence_length": 256}

    def joint_attention(self, pipe: DiffusionPipeline) -> JointAttentionHooks:
        """The joint context is CLIP's 77 tokens (CLIP-L and CLIP-G tokenize alike; their
        embeddings join along the channels), then T5's; without T5 that part is zeros and no
        word's. The transformer patchifies the latents `patch_size` to a side."""
        text = (ContextTokens(pipe.tokenizer),)
        if pipe.text_encoder_3 is not None:
            text += (ContextTokens(pipe.tokenizer_3, pipe.tokenizer_max_length),)
        patch = pipe.transformer.config.patch_size
        return JointAttentionHooks(text, partial(patch_grid, patch=patch), patch)

    def lora_target(self, header: CheckpointHeader) -> LoraTarget | None:
        flux, width = transformer_lora(header)
        joint = names_with(header, "joint_blocks")
        if joint or (not flux and width not in (None, FLUX_WIDTH)):
            return LoraTarget(self.key, "SD3")
        return None


def patch_grid(call: Mapping[str, Any], patch: int) -> tuple[int, int]:
    """The image tokens' grid: the latents (B, C, H, W) the transformer is called with, in
    patches."""
    height, width = call["hidden_states"].shape[-2:]
    return height // patch, width // patch
