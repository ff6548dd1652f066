"""Tiny single-file models in each family's original key layout, in a ComfyUI-style tree.

The weights come from the tiny diffusers pipelines (tests/tiny_families.py), written back into
the layouts users' files have (A1111/Civitai all-in-one SD 1.x and SDXL, BFL's transformer-only
FLUX.1 with ComfyUI's separate clip_l, t5xxl and ae files). Their configs are the same tiny
pipelines' configs, written where the bundled full-size configs live for real files.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import torch
from diffusers import DiffusionPipeline

from tests.checkpoints.files import write_single_file
from tests.checkpoints.mmdit import flux_transformer_to_original, t5_to_original
from tests.checkpoints.sd import clip_to_original, sd1_checkpoint, sdxl_checkpoint, vae_to_ldm
from tests.tiny_families import save_tiny_flux, save_tiny_sd_inpainting, save_tiny_sdxl
from tests.tiny_pipeline import save_tiny_pipeline

# model type (bundled config name) -> (builder of the tiny diffusers folder, file name)
TINY_CHECKPOINTS = {
    "v1": (save_tiny_pipeline, "checkpoints/tiny-sd15.safetensors"),
    "inpainting": (save_tiny_sd_inpainting, "checkpoints/tiny-sd15-inpainting.safetensors"),
    "xl_base": (save_tiny_sdxl, "checkpoints/sdxl/tiny-sdxl.safetensors"),
    "flux-dev": (save_tiny_flux, "diffusion_models/tiny-flux1-dev.safetensors"),
}


def build_tree(root: Path) -> tuple[Path, Path, Path]:
    """(models tree, config folder, diffusers folders) for the tiny single files."""
    models, configs, folders = root / "models", root / "configs", root / "folders"
    for model_type, (build, name) in TINY_CHECKPOINTS.items():
        pipe = DiffusionPipeline.from_pretrained(build(folders / model_type))
        target = models / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_single_file(target, _original_layout(model_type, pipe, models))
        shutil.copytree(folders / model_type, configs / model_type, ignore=_weights)
    return models, configs, folders


def _original_layout(model_type: str, pipe, models: Path) -> dict:
    if model_type == "xl_base":
        return sdxl_checkpoint(
            pipe.unet.state_dict(),
            pipe.vae.state_dict(),
            pipe.text_encoder.state_dict(),
            pipe.text_encoder_2.state_dict(),
        )
    if model_type == "flux-dev":
        _write_flux_parts(pipe, models)
        return flux_transformer_to_original(pipe.transformer.state_dict())
    return sd1_checkpoint(
        pipe.unet.state_dict(), pipe.vae.state_dict(), pipe.text_encoder.state_dict()
    )


def _write_flux_parts(pipe, models: Path) -> None:
    """ComfyUI's layout: text encoders in models/text_encoders, the VAE in models/vae."""
    (models / "text_encoders").mkdir(parents=True, exist_ok=True)
    (models / "vae").mkdir(parents=True, exist_ok=True)
    write_single_file(
        models / "text_encoders" / "clip_l.safetensors",
        clip_to_original(pipe.text_encoder.state_dict(), ""),
    )
    write_single_file(
        models / "text_encoders" / "t5xxl_fp16.safetensors",
        t5_to_original(pipe.text_encoder_2.state_dict()),
    )
    write_single_file(models / "vae" / "ae.safetensors", vae_to_ldm(pipe.vae.state_dict(), ""))


def _weights(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n.endswith((".safetensors", ".bin"))]


class Payload:
    """A pickle that would run code when unpickled without `weights_only`."""

    def __reduce__(self):
        return (print, ("this code ran",))


def write_bad_files(folder: Path) -> dict[str, Path]:
    """Files that are not models, each of a kind users meet."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "empty": folder / "empty.safetensors",
        "random": folder / "random.safetensors",
        "truncated": folder / "truncated.safetensors",
        "pickle": folder / "evil.ckpt",
        "lora": folder / "style-lora.safetensors",
        "unknown": folder / "unknown.safetensors",
        "vae": folder / "vae-ft-mse.safetensors",
        "text_encoder": folder / "clip_l.safetensors",
        "controlnet": folder / "control_canny.safetensors",
        "other_dit": folder / "auraflow-like.safetensors",
    }
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(bytes(range(256)) * 64)

    write_single_file(files["truncated"], {"model.diffusion_model.x": torch.zeros(1024)})
    data = files["truncated"].read_bytes()
    files["truncated"].write_bytes(data[: len(data) - 1000])
    files["pickle"].write_bytes(pickle.dumps({"state_dict": Payload()}))
    write_single_file(
        files["lora"],
        {
            "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": torch.zeros(4, 2),
            "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(2, 4),
        },
    )
    write_single_file(files["unknown"], {"some.other.network.weight": torch.zeros(4)})
    write_single_file(files["vae"], {"decoder.conv_in.weight": torch.zeros(8, 4, 3, 3)})
    write_single_file(
        files["text_encoder"], {"text_model.embeddings.token_embedding.weight": torch.zeros(9, 8)}
    )
    write_single_file(
        files["controlnet"], {"control_model.input_hint_block.0.weight": torch.zeros(2)}
    )
    write_single_file(
        files["other_dit"],
        {"model.diffusion_model.double_layers.0.attn.w2q.weight": torch.zeros(2)},
    )
    return files
