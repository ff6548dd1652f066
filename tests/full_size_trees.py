"""Users' model folders at full size, as header-only (sparse) files: every file has its real
header and its real size, and takes no disk space. ComfyUI, A1111 and Stability Matrix
layouts, with the separate text encoders and VAE that SD3.5 and FLUX.1 files need."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from tests.checkpoints.files import write_header_only
from tests.checkpoints.full_size import meta_model, original_checkpoint
from tests.checkpoints.mmdit import t5_to_original
from tests.checkpoints.sd import clip_to_original, vae_to_ldm

# file name -> (model type, dtype as published)
CHECKPOINTS = {
    "v1-5-pruned-emaonly.safetensors": ("v1", torch.float16),
    "sd-v1-5-inpainting.safetensors": ("inpainting", torch.float16),
    "v2-1_768-ema-pruned.safetensors": ("v2", torch.float16),
    "sd_xl_base_1.0.safetensors": ("xl_base", torch.float16),
    "sd_xl_refiner_1.0.safetensors": ("xl_refiner", torch.float16),
    "sd3.5_large.safetensors": ("sd35_large", torch.float16),
    "sd3.5_medium.safetensors": ("sd35_medium", torch.float16),
}
DIFFUSION_MODELS = {
    "flux1-dev.safetensors": ("flux-dev", torch.bfloat16),
    "flux1-schnell.safetensors": ("flux-schnell", torch.bfloat16),
}


def write_comfyui_tree(root: Path) -> Path:
    """ComfyUI's `models/` with every family and the parts SD3.5 and FLUX.1 read."""
    models = root / "models"
    _write(models / "checkpoints", CHECKPOINTS)
    _write(models / "diffusion_models", DIFFUSION_MODELS)
    encoders = models / "text_encoders"
    encoders.mkdir(parents=True)
    write_header_only(
        encoders / "clip_l.safetensors", clip_to_original(_state("flux-dev", "text_encoder"), "")
    )
    write_header_only(
        encoders / "clip_g.safetensors",
        clip_to_original(_state("sd35_large", "text_encoder_2"), ""),
    )
    write_header_only(
        encoders / "t5xxl_fp16.safetensors",
        t5_to_original(_state("flux-dev", "text_encoder_2")),
        torch.float16,
    )
    (models / "vae").mkdir()
    write_header_only(
        models / "vae" / "ae.safetensors", vae_to_ldm(_state("flux-dev", "vae"), ""), torch.float32
    )
    (models / "unet").mkdir()
    write_gguf_header_only(models / "unet" / "flux1-dev-Q4_0.gguf", original_checkpoint("flux-dev"))
    (models / "loras").mkdir()
    return models


def write_a1111_tree(root: Path) -> Path:
    """A1111/Forge: `models/Stable-diffusion` with a subfolder, `models/VAE`, `models/Lora`."""
    models = root / "models"
    _write(models / "Stable-diffusion", {"v1-5-pruned-emaonly.safetensors": ("v1", torch.float16)})
    _write(models / "Stable-diffusion" / "XL", {"sdxl.safetensors": ("xl_base", torch.float16)})
    return models


def write_stability_matrix_tree(root: Path, shared: Path) -> Path:
    """Stability Matrix: `Data/Models/<Type>/`, with a folder linked in from another app."""
    models = root / "Data" / "Models"
    _write(models / "StableDiffusion", {"sd15.safetensors": ("v1", torch.float16)})
    (models / "StableDiffusion" / "linked").symlink_to(shared, target_is_directory=True)
    return models


def _write(folder: Path, files: dict[str, tuple[str, torch.dtype]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (model_type, dtype) in files.items():
        write_header_only(folder / name, original_checkpoint(model_type), dtype)


def _state(model_type: str, component: str) -> dict[str, torch.Tensor]:
    return meta_model(model_type, component).state_dict()


def write_gguf_header_only(path: Path, state_dict: dict[str, torch.Tensor]) -> int:
    """A GGUF file as city96's FLUX.1 quantizations are: matrices in Q4_0, the rest in F32;
    the real header, then a hole of the data's size (like `write_header_only`)."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(path, arch="flux")
    block, block_bytes = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q4_0]
    for name, tensor in state_dict.items():
        shape = tuple(tensor.shape)
        if len(shape) == 2 and shape[-1] % block == 0:
            byte_shape = (*shape[:-1], shape[-1] // block * block_bytes)
            nbytes = int(np.prod(byte_shape))
            writer.add_tensor_info(
                name, byte_shape, np.dtype(np.uint8), nbytes, gguf.GGMLQuantizationType.Q4_0
            )
        else:
            writer.add_tensor_info(name, shape, np.dtype(np.float32), tensor.numel() * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    reader_size = path.stat().st_size
    data = sum(info.nbytes for info in writer.tensors[0].values()) if writer.tensors else 0
    total = reader_size + data + len(state_dict) * writer.data_alignment
    os.truncate(path, total)
    return total
