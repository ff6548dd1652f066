"""Tiny LoRA files for the tiny pipelines, made in code: PEFT adapters with random non-zero
weights on a pipeline's UNet and text encoders, written in diffusers' layout
(`save_lora_weights`) and converted to the Kohya/A1111 layout most files in the wild use.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import DiffusionPipeline
from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model
from safetensors import safe_open
from safetensors.torch import save_file

RANK = 4
UNET_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
TEXT_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]
# diffusers' component name -> Kohya's key prefix (SD 1.x has one text encoder, SDXL two).
KOHYA_PREFIXES = {"unet": "lora_unet_", "text_encoder": "lora_te_"}
KOHYA_SDXL_PREFIXES = {
    "unet": "lora_unet_",
    "text_encoder": "lora_te1_",
    "text_encoder_2": "lora_te2_",
}


def save_diffusers_lora(
    model_folder: Path, out_folder: Path, seed: int = 1, text_encoders: bool = True
) -> Path:
    """A LoRA for the diffusers model in `model_folder` (on its UNet or transformer, and its
    CLIP text encoders unless `text_encoders` is False), in diffusers' layout; returns the
    `.safetensors` file. `seed` makes different LoRAs for the same model."""
    pipe = DiffusionPipeline.from_pretrained(model_folder, local_files_only=True)
    torch.manual_seed(seed)
    denoiser = "unet" if getattr(pipe, "unet", None) is not None else "transformer"
    layers = {denoiser: _random_lora(getattr(pipe, denoiser), UNET_TARGETS)}
    # transformers 5 wants PEFT >= 0.22 for its own add_adapter: inject with PEFT directly.
    if text_encoders:
        layers["text_encoder"] = _random_lora(pipe.text_encoder, TEXT_TARGETS)
        if getattr(pipe, "text_encoder_2", None) is not None:
            layers["text_encoder_2"] = _random_lora(pipe.text_encoder_2, TEXT_TARGETS)
    type(pipe).save_lora_weights(
        out_folder, **{f"{component}_lora_layers": sd for component, sd in layers.items()}
    )
    return out_folder / "pytorch_lora_weights.safetensors"


def to_kohya(diffusers_file: Path, out: Path, prefixes: dict[str, str] = KOHYA_PREFIXES) -> Path:
    """The same LoRA with Kohya's key names: `lora_unet_<module_with_underscores>.lora_down`
    / `.lora_up` / `.alpha`; text encoders under `text_model.` as in the original CLIP."""
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(diffusers_file), "pt") as source:
        for key in source.keys():  # noqa: SIM118 - safe_open is not a mapping
            component, rest = key.split(".", 1)
            module, part = rest.rsplit(".lora_", 1)
            if component != "unet" and not module.startswith("text_model."):
                module = f"text_model.{module}"
            name = prefixes[component] + module.replace(".", "_")
            direction = "lora_down" if part.startswith("A") else "lora_up"
            tensors[f"{name}.{direction}.weight"] = source.get_tensor(key).contiguous()
            tensors[f"{name}.alpha"] = torch.tensor(float(RANK))
    save_file(tensors, str(out))
    return out


def _random_lora(module: torch.nn.Module, targets: list[str]) -> dict[str, torch.Tensor]:
    config = LoraConfig(r=RANK, lora_alpha=RANK, target_modules=targets, init_lora_weights=False)
    inject_adapter_in_model(config, module)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "lora_" in name:
                parameter.normal_(0.0, 0.3)
    return get_peft_model_state_dict(module)
