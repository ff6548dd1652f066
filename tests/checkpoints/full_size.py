"""Full-size models of each bundled config on the meta device, in their original single-file layout.

No memory is allocated for weights: the state dicts hold meta tensors with the real shapes, for
model-type detection and for header-only (sparse) files of real size.
"""

from __future__ import annotations

import json

import accelerate
import diffusers
import torch
import transformers

from studio.core.paths import RESOURCES
from tests.checkpoints.mmdit import flux_transformer_to_original, sd35_checkpoint
from tests.checkpoints.sd import (
    StateDict,
    sd1_checkpoint,
    sd2_checkpoint,
    sdxl_checkpoint,
    sdxl_refiner_checkpoint,
)

CONFIGS = RESOURCES / "configs"
MODEL_TYPES = (
    "v1",
    "inpainting",
    "v2",
    "xl_base",
    "xl_inpaint",
    "xl_refiner",
    "sd3",
    "sd35_medium",
    "sd35_large",
    "flux-dev",
    "flux-schnell",
)


def meta_model(model_type: str, component: str) -> torch.nn.Module:
    """One component of a bundled config, built with empty (meta) weights and buffers."""
    library, class_name = json.loads((CONFIGS / model_type / "model_index.json").read_text())[
        component
    ]
    folder = CONFIGS / model_type / component
    with accelerate.init_empty_weights(include_buffers=True):
        if library == "diffusers":
            cls = getattr(diffusers, class_name)
            model = cls.from_config(cls.load_config(folder))
        else:
            model = getattr(transformers, class_name)(
                transformers.AutoConfig.from_pretrained(folder)
            )
    if hasattr(model, "tie_weights"):
        model.tie_weights()  # empty weights untie transformers' shared embeddings (T5)
    return model


def _state(model_type: str, component: str) -> StateDict:
    return meta_model(model_type, component).state_dict()


def open_clip_h() -> StateDict:
    """SD2's text encoder as its files hold it: all 24 OpenCLIP-H blocks and the projection
    (the diffusers config keeps 23 blocks and no projection)."""
    config = transformers.AutoConfig.from_pretrained(CONFIGS / "v2" / "text_encoder")
    config.num_hidden_layers = 24
    config.projection_dim = config.hidden_size
    with accelerate.init_empty_weights(include_buffers=True):
        return transformers.CLIPTextModelWithProjection(config).state_dict()


def original_checkpoint(model_type: str) -> StateDict:
    """The full-size key set (meta tensors) of a single file of this type, as users have them:
    all-in-one for SD 1.x/2.x/SDXL, MMDiT + VAE for SD3/SD3.5, transformer-only for FLUX.1."""
    if model_type in ("v1", "inpainting"):
        return sd1_checkpoint(*(_state(model_type, c) for c in ("unet", "vae", "text_encoder")))
    if model_type == "v2":
        return sd2_checkpoint(_state("v2", "unet"), _state("v2", "vae"), open_clip_h())
    if model_type in ("xl_base", "xl_inpaint"):
        components = ("unet", "vae", "text_encoder", "text_encoder_2")
        return sdxl_checkpoint(*(_state(model_type, c) for c in components))
    if model_type == "xl_refiner":
        return sdxl_refiner_checkpoint(
            *(_state(model_type, c) for c in ("unet", "vae", "text_encoder_2"))
        )
    if model_type in ("sd3", "sd35_medium", "sd35_large"):
        return sd35_checkpoint(_state(model_type, "transformer"), _state(model_type, "vae"))
    if model_type in ("flux-dev", "flux-schnell"):
        return flux_transformer_to_original(_state(model_type, "transformer"))
    raise ValueError(f"no bundled config for {model_type}")
