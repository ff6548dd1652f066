"""FLUX.1 dev and schnell: a 12 B rectified-flow transformer on 16 latent channels, packed
2x2 into tokens of 64 values, with CLIP-L and T5-XXL.

dev is guidance-distilled: `guidance_scale` is an input to the model (3.5 is its default), not
classifier-free guidance; real CFG with a negative prompt is `true_cfg_scale` above 1 (twice
the work). schnell is timestep-distilled: 4 steps and no guidance at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from diffusers import DiffusionPipeline, FluxPipeline, FluxTransformer2DModel

from studio.core.models import ModelInfo
from studio.core.request import GenerationRequest
from studio.engine.attention_hooks import ContextTokens
from studio.engine.checkpoints import CheckpointHeader
from studio.engine.families.base import Variant
from studio.engine.families.lora_keys import FLUX_WIDTH, LoraTarget, has_prefix, transformer_lora
from studio.engine.families.parts import Part
from studio.engine.families.transformers_base import TransformerFamily
from studio.engine.joint_attention import JointAttentionHooks

# Published FLUX.1 latent-to-RGB factors (16 latent channels; columns R, G, B) and bias.
FLUX_FACTORS = (
    (-0.0346, 0.0244, 0.0681), (0.0034, 0.0210, 0.0687), (0.0275, -0.0668, -0.0433),
    (-0.0174, 0.0160, 0.0617), (0.0859, 0.0721, 0.0329), (0.0004, 0.0383, 0.0115),
    (0.0405, 0.0861, 0.0915), (-0.0236, -0.0185, -0.0259), (-0.0245, 0.0250, 0.1180),
    (0.1008, 0.0755, -0.0421), (-0.0515, 0.0201, 0.0011), (0.0428, -0.0012, -0.0036),
    (0.0817, 0.0765, 0.0749), (-0.1264, -0.0522, -0.1103), (-0.0280, -0.0881, -0.0499),
    (-0.1262, -0.0982, -0.0778),
)  # fmt: skip
FLUX_BIAS = (-0.0329, -0.0718, -0.0851)
VAE_SCALE = 8
PACKING = 2  # latents are packed 2x2 into one token


class Flux(TransformerFamily):
    key = "flux"
    families = frozenset({"flux"})
    pipelines = frozenset({"FluxPipeline"})
    variants: Mapping[str, Variant] = {
        "flux-dev": Variant(
            "flux-dev", "FLUX.1 dev", "flux", 1024, default_steps=28, default_guidance=3.5
        ),
        "flux-schnell": Variant(
            "flux-schnell",
            "FLUX.1 schnell",
            "flux",
            1024,
            default_steps=4,
            default_guidance=0.0,
            uses_guidance=False,
        ),
    }
    parts = (
        Part("text_encoder", "clip_l", "CLIP-L", ("text_encoders.clip_l.",)),
        Part("text_encoder_2", "t5xxl", "T5-XXL", ("text_encoders.t5xxl.",)),
        Part("vae", "vae16", "VAE", ("vae.", "first_stage_model.")),
    )
    transformer_class = FluxTransformer2DModel
    uses_true_cfg = True
    preview_factors = FLUX_FACTORS
    preview_bias = FLUX_BIAS

    def folder_variant(self, transformer: dict[str, Any]) -> str:
        return "flux-dev" if transformer.get("guidance_embeds") else "flux-schnell"

    def uses_negative_prompt(self, variant: Variant) -> bool:
        return False  # only with true CFG (`true_cfg_scale` > 1)

    def pipeline_class(self, info: ModelInfo) -> type[DiffusionPipeline]:
        return FluxPipeline

    def family_arguments(self, request: GenerationRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"max_sequence_length": 256 if request.steps <= 8 else 512}
        if request.true_cfg_scale > 1 and request.negative_prompt:
            kwargs["true_cfg_scale"] = request.true_cfg_scale
        return kwargs

    def latents_to_grid(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        if latents.ndim == 3:  # packed (B, tokens, 64)
            return FluxPipeline._unpack_latents(latents, height, width, VAE_SCALE)
        return latents

    def joint_attention(self, pipe: DiffusionPipeline) -> JointAttentionHooks:
        """The joint context is T5's tokens only (CLIP gives the pooled vector)."""
        return JointAttentionHooks((ContextTokens(pipe.tokenizer_2),), packed_grid, PACKING)

    def image_tokens(self, pipe: DiffusionPipeline, width: int, height: int) -> int:
        cell = pipe.vae_scale_factor * PACKING
        return (height // cell) * (width // cell)

    def img2img_sigmas(self, steps: int) -> np.ndarray | None:
        return np.linspace(1.0, 1 / steps, steps)

    def lora_target(self, header: CheckpointHeader) -> LoraTarget | None:
        flux, width = transformer_lora(header)
        if flux or (width == FLUX_WIDTH and has_prefix(header, ("transformer.",))):
            return LoraTarget(self.key, "FLUX.1")
        return None


def packed_grid(call: Mapping[str, Any]) -> tuple[int, int]:
    """The image tokens' grid: the rows and columns of the positions (`img_ids`) the
    transformer is called with."""
    ids = call["img_ids"]
    ids = ids[0] if ids.ndim == 3 else ids  # the transformer still takes the old batched ids
    return int(ids[:, 1].max()) + 1, int(ids[:, 2].max()) + 1
