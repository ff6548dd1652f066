"""diffusers state dicts -> the original Stable Diffusion (LDM / SGM) single-file layout.

The inverse of diffusers' `convert_ldm_unet_checkpoint`, `convert_ldm_vae_checkpoint`,
`convert_ldm_clip_checkpoint` and `convert_open_clip_checkpoint`: what A1111/Civitai all-in-one
SD 1.x/2.x/SDXL checkpoints hold. Works on real and on meta tensors (full-size headers).
"""

from __future__ import annotations

import re

import torch

StateDict = dict[str, torch.Tensor]

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
SD1_CLIP_PREFIX = "cond_stage_model.transformer."
SD2_OPEN_CLIP_PREFIX = "cond_stage_model.model."
SDXL_CLIP_PREFIX = "conditioner.embedders.0.transformer."
SDXL_OPEN_CLIP_PREFIX = "conditioner.embedders.1.model."
SDXL_REFINER_OPEN_CLIP_PREFIX = "conditioner.embedders.0.model."

_UNET_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}
_VAE_ATTENTION = {
    "group_norm": "norm",
    "to_q": "q",
    "to_k": "k",
    "to_v": "v",
    "to_out.0": "proj_out",
}
_OPEN_CLIP_TOP = {
    "text_model.embeddings.position_embedding.weight": "positional_embedding",
    "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
    "text_model.final_layer_norm.weight": "ln_final.weight",
    "text_model.final_layer_norm.bias": "ln_final.bias",
}
_OPEN_CLIP_LAYER = {
    "layer_norm1": "ln_1",
    "layer_norm2": "ln_2",
    "mlp.fc1": "mlp.c_fc",
    "mlp.fc2": "mlp.c_proj",
    "self_attn.out_proj": "attn.out_proj",
}


def _count(state_dict: StateDict, pattern: str) -> int:
    """How many distinct indices `pattern` (a regex with one group) matches among the keys."""
    found = {m.group(1) for key in state_dict if (m := re.match(pattern, key))}
    return len(found)


def _unet_module_map(unet: StateDict) -> dict[str, str]:
    """diffusers module path -> LDM module path, for every module of this UNet."""
    per_block = _count(unet, r"down_blocks\.0\.resnets\.(\d+)\.")
    modules = {
        "conv_in": "input_blocks.0.0",
        "time_embedding.linear_1": "time_embed.0",
        "time_embedding.linear_2": "time_embed.2",
        "add_embedding.linear_1": "label_emb.0.0",
        "add_embedding.linear_2": "label_emb.0.2",
        "mid_block.resnets.0": "middle_block.0",
        "mid_block.attentions.0": "middle_block.1",
        "mid_block.resnets.1": "middle_block.2",
        "conv_norm_out": "out.0",
        "conv_out": "out.2",
    }
    for block in range(_count(unet, r"down_blocks\.(\d+)\.")):
        first = 1 + block * (per_block + 1)
        for layer in range(per_block):
            modules[f"down_blocks.{block}.resnets.{layer}"] = f"input_blocks.{first + layer}.0"
            modules[f"down_blocks.{block}.attentions.{layer}"] = f"input_blocks.{first + layer}.1"
        modules[f"down_blocks.{block}.downsamplers.0.conv"] = (
            f"input_blocks.{first + per_block}.0.op"
        )
    for block in range(_count(unet, r"up_blocks\.(\d+)\.")):
        first = block * (per_block + 1)
        for layer in range(per_block + 1):
            modules[f"up_blocks.{block}.resnets.{layer}"] = f"output_blocks.{first + layer}.0"
            modules[f"up_blocks.{block}.attentions.{layer}"] = f"output_blocks.{first + layer}.1"
        has_attention = any(key.startswith(f"up_blocks.{block}.attentions.") for key in unet)
        slot = 2 if has_attention else 1
        modules[f"up_blocks.{block}.upsamplers.0.conv"] = (
            f"output_blocks.{first + per_block}.{slot}.conv"
        )
    return modules


def _split_module(key: str, modules: dict[str, str]) -> tuple[str, str]:
    """(module, rest) for the longest module path in `modules` that `key` starts with."""
    parts = key.split(".")
    for end in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:end])
        if module in modules:
            return module, ".".join(parts[end:])
    raise KeyError(f"no original-layout place for {key}")


def unet_to_ldm(unet: StateDict, prefix: str = UNET_PREFIX) -> StateDict:
    """A UNet2DConditionModel state dict (SD 1.x/2.x/SDXL, 4 or 9 input channels) in LDM layout."""
    modules = _unet_module_map(unet)
    out = {}
    for key, tensor in unet.items():
        module, rest = _split_module(key, modules)
        if ".resnets." in module:
            head, _, tail = rest.partition(".")
            rest = f"{_UNET_RESNET[head]}.{tail}"
        out[f"{prefix}{modules[module]}.{rest}"] = tensor
    return out


def _vae_module_map(vae: StateDict) -> dict[str, str]:
    modules = {
        name: name
        for name in (
            "encoder.conv_in",
            "encoder.conv_out",
            "decoder.conv_in",
            "decoder.conv_out",
            "quant_conv",
            "post_quant_conv",
        )
    }
    for part in ("encoder", "decoder"):
        modules[f"{part}.conv_norm_out"] = f"{part}.norm_out"
        modules[f"{part}.mid_block.resnets.0"] = f"{part}.mid.block_1"
        modules[f"{part}.mid_block.resnets.1"] = f"{part}.mid.block_2"
        modules[f"{part}.mid_block.attentions.0"] = f"{part}.mid.attn_1"
    for block in range(_count(vae, r"encoder\.down_blocks\.(\d+)\.")):
        for layer in range(_count(vae, rf"encoder\.down_blocks\.{block}\.resnets\.(\d+)\.")):
            modules[f"encoder.down_blocks.{block}.resnets.{layer}"] = (
                f"encoder.down.{block}.block.{layer}"
            )
        modules[f"encoder.down_blocks.{block}.downsamplers.0.conv"] = (
            f"encoder.down.{block}.downsample.conv"
        )
    up_blocks = _count(vae, r"decoder\.up_blocks\.(\d+)\.")
    for block in range(up_blocks):
        level = up_blocks - 1 - block  # LDM numbers decoder levels from the lowest resolution up
        for layer in range(_count(vae, rf"decoder\.up_blocks\.{block}\.resnets\.(\d+)\.")):
            modules[f"decoder.up_blocks.{block}.resnets.{layer}"] = (
                f"decoder.up.{level}.block.{layer}"
            )
        modules[f"decoder.up_blocks.{block}.upsamplers.0.conv"] = (
            f"decoder.up.{level}.upsample.conv"
        )
    return modules


def vae_to_ldm(vae: StateDict, prefix: str = VAE_PREFIX) -> StateDict:
    """An AutoencoderKL state dict (4 or 16 latent channels) in LDM layout.

    `prefix=""` gives the standalone layout of FLUX.1's `ae.safetensors`.
    """
    modules = _vae_module_map(vae)
    out = {}
    for key, tensor in vae.items():
        module, rest = _split_module(key, modules)
        if ".attentions." in module:
            layer, _, param = rest.rpartition(".")
            rest = f"{_VAE_ATTENTION[layer]}.{param}"
            if tensor.ndim == 2:  # LDM's attention projections are 1x1 convolutions
                tensor = tensor[:, :, None, None]
        elif ".resnets." in module:
            rest = rest.replace("conv_shortcut", "nin_shortcut")
        out[f"{prefix}{modules[module]}.{rest}"] = tensor
    return out


def _with_text_model(clip: StateDict) -> StateDict:
    """transformers 5 flattened CLIPTextModel (no `text_model.`); WithProjection still nests it."""
    return {
        key
        if key.startswith("text_model.") or key == "text_projection.weight"
        else f"text_model.{key}": value
        for key, value in clip.items()
    }


def clip_to_original(clip: StateDict, prefix: str) -> StateDict:
    """A transformers CLIP text model as single files hold it: its own names under `prefix`.

    SD1: `SD1_CLIP_PREFIX`; SDXL: `SDXL_CLIP_PREFIX`; SD3.5 all-in-one:
    `text_encoders.clip_l.transformer.`; ComfyUI's standalone `clip_l.safetensors`: "".
    """
    return {f"{prefix}{key}": value for key, value in _with_text_model(clip).items()}


def open_clip_to_original(clip: StateDict, prefix: str) -> StateDict:
    """A CLIP text model in OpenCLIP's layout (SD2, SDXL's second encoder, the SDXL refiner's).

    q/k/v projections become one `in_proj_weight`/`in_proj_bias`; `text_projection.weight`
    (if the model has one) becomes OpenCLIP's transposed `text_projection` matrix.
    """
    out = {}
    qkv: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in _with_text_model(clip).items():
        if key == "text_projection.weight":
            out[f"{prefix}text_projection"] = tensor.T.contiguous()
            continue
        if key in _OPEN_CLIP_TOP:
            out[f"{prefix}{_OPEN_CLIP_TOP[key]}"] = tensor
            continue
        match = re.fullmatch(r"text_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)", key)
        if match is None:
            raise KeyError(f"no OpenCLIP place for {key}")
        index, module, param = match.groups()
        block = f"{prefix}transformer.resblocks.{index}."
        if module in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
            projection = module.removeprefix("self_attn.")[0]  # q, k or v
            qkv.setdefault(f"{block}attn.in_proj_{param}", {})[projection] = tensor
        else:
            out[f"{block}{_OPEN_CLIP_LAYER[module]}.{param}"] = tensor
    for key, parts in qkv.items():
        out[key] = torch.cat([parts["q"], parts["k"], parts["v"]])
    return out


def sd1_checkpoint(unet: StateDict, vae: StateDict, text_encoder: StateDict) -> StateDict:
    """An SD 1.x all-in-one file (also 9-channel inpainting)."""
    return {
        **unet_to_ldm(unet),
        **vae_to_ldm(vae),
        **clip_to_original(text_encoder, SD1_CLIP_PREFIX),
    }


def sd2_checkpoint(unet: StateDict, vae: StateDict, text_encoder: StateDict) -> StateDict:
    """An SD 2.x all-in-one file; the text encoder in OpenCLIP layout.

    Real SD2 files hold all 24 OpenCLIP-H blocks and its `text_projection`; diffusers keeps 23
    blocks. Pass a 24-block CLIPTextModelWithProjection to get the real file's key set.
    """
    return {
        **unet_to_ldm(unet),
        **vae_to_ldm(vae),
        **open_clip_to_original(text_encoder, SD2_OPEN_CLIP_PREFIX),
    }


def sdxl_checkpoint(
    unet: StateDict, vae: StateDict, text_encoder: StateDict, text_encoder_2: StateDict
) -> StateDict:
    """An SDXL base (or 9-channel inpainting) all-in-one file."""
    return {
        **unet_to_ldm(unet),
        **vae_to_ldm(vae),
        **clip_to_original(text_encoder, SDXL_CLIP_PREFIX),
        **open_clip_to_original(text_encoder_2, SDXL_OPEN_CLIP_PREFIX),
    }


def sdxl_refiner_checkpoint(
    unet: StateDict, vae: StateDict, text_encoder_2: StateDict
) -> StateDict:
    """An SDXL refiner file: OpenCLIP bigG is its only (first) embedder."""
    return {
        **unet_to_ldm(unet),
        **vae_to_ldm(vae),
        **open_clip_to_original(text_encoder_2, SDXL_REFINER_OPEN_CLIP_PREFIX),
    }
