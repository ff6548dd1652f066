"""diffusers SD3/SD3.5 and FLUX.1 state dicts -> the layouts Stability, BFL and ComfyUI ship.

The inverse of diffusers' `convert_sd3_transformer_checkpoint_to_diffusers`,
`convert_flux_transformer_checkpoint_to_diffusers` and `convert_sd3_t5_checkpoint_to_diffusers`.
Works on real and on meta tensors (full-size headers).
"""

from __future__ import annotations

import re

import torch

from tests.checkpoints.sd import UNET_PREFIX, StateDict, clip_to_original, vae_to_ldm

SD35_CLIP_L_PREFIX = "text_encoders.clip_l.transformer."
SD35_CLIP_G_PREFIX = "text_encoders.clip_g.transformer."
SD35_T5_PREFIX = "text_encoders.t5xxl.transformer."


def _swap_halves(tensor: torch.Tensor) -> torch.Tensor:
    """Original AdaLN projections give (shift, scale); diffusers' give (scale, shift)."""
    first, second = tensor.chunk(2, dim=0)
    return torch.cat([second, first])


def _renamed(source: StateDict, names: dict[str, str], out: StateDict, prefix: str) -> None:
    """Copy each diffusers module's weight and bias to `prefix` + its original name."""
    for new, old in names.items():
        for param in ("weight", "bias"):
            if f"{new}.{param}" in source:
                out[f"{prefix}{old}.{param}"] = source[f"{new}.{param}"]


def _cat(source: StateDict, modules: list[str], out: StateDict, target: str) -> None:
    for param in ("weight", "bias"):
        out[f"{target}.{param}"] = torch.cat([source[f"{m}.{param}"] for m in modules])


IMAGE_QKV = ("to_q", "to_k", "to_v")
TEXT_QKV = ("add_q_proj", "add_k_proj", "add_v_proj")


def _cat_qkv(
    source: StateDict, attention: str, projections: tuple[str, ...], out: StateDict, target: str
) -> None:
    """diffusers' separate q, k, v projections of `attention` as the original fused `qkv`."""
    _cat(source, [f"{attention}.{name}" for name in projections], out, target)


def _final_modulation(transformer: StateDict, out: StateDict, prefix: str) -> None:
    """diffusers' `norm_out.linear` is the original `final_layer.adaLN_modulation.1` with its
    scale and shift halves swapped (both MMDiT families)."""
    for param in ("weight", "bias"):
        out[f"{prefix}final_layer.adaLN_modulation.1.{param}"] = _swap_halves(
            transformer[f"norm_out.linear.{param}"]
        )


def _blocks(state_dict: StateDict, name: str) -> int:
    return len({m.group(1) for key in state_dict if (m := re.match(rf"{name}\.(\d+)\.", key))})


def sd3_transformer_to_original(transformer: StateDict, prefix: str = UNET_PREFIX) -> StateDict:
    """An SD3Transformer2DModel state dict (SD3 medium, SD3.5 medium/large), Stability's layout."""
    t = transformer
    out: StateDict = {f"{prefix}pos_embed": t["pos_embed.pos_embed"]}
    _renamed(
        t,
        {
            "pos_embed.proj": "x_embedder.proj",
            "time_text_embed.timestep_embedder.linear_1": "t_embedder.mlp.0",
            "time_text_embed.timestep_embedder.linear_2": "t_embedder.mlp.2",
            "time_text_embed.text_embedder.linear_1": "y_embedder.mlp.0",
            "time_text_embed.text_embedder.linear_2": "y_embedder.mlp.2",
            "context_embedder": "context_embedder",
            "proj_out": "final_layer.linear",
        },
        out,
        prefix,
    )
    _final_modulation(t, out, prefix)
    layers = _blocks(t, "transformer_blocks")
    for i in range(layers):
        src = f"transformer_blocks.{i}."
        x = f"{prefix}joint_blocks.{i}.x_block."
        context = f"{prefix}joint_blocks.{i}.context_block."
        _cat_qkv(t, f"{src}attn", IMAGE_QKV, out, f"{x}attn.qkv")
        _cat_qkv(t, f"{src}attn", TEXT_QKV, out, f"{context}attn.qkv")
        names = {
            f"{src}attn.to_out.0": "x_block.attn.proj",
            f"{src}attn.norm_q": "x_block.attn.ln_q",
            f"{src}attn.norm_k": "x_block.attn.ln_k",
            f"{src}attn.norm_added_q": "context_block.attn.ln_q",
            f"{src}attn.norm_added_k": "context_block.attn.ln_k",
            f"{src}attn.to_add_out": "context_block.attn.proj",
            f"{src}norm1.linear": "x_block.adaLN_modulation.1",
            f"{src}ff.net.0.proj": "x_block.mlp.fc1",
            f"{src}ff.net.2": "x_block.mlp.fc2",
            f"{src}ff_context.net.0.proj": "context_block.mlp.fc1",
            f"{src}ff_context.net.2": "context_block.mlp.fc2",
            f"{src}attn2.norm_q": "x_block.attn2.ln_q",
            f"{src}attn2.norm_k": "x_block.attn2.ln_k",
            f"{src}attn2.to_out.0": "x_block.attn2.proj",
        }
        _renamed(t, names, out, f"{prefix}joint_blocks.{i}.")
        if f"{src}attn2.to_q.weight" in t:
            _cat_qkv(t, f"{src}attn2", IMAGE_QKV, out, f"{x}attn2.qkv")
        last = i == layers - 1  # the last context block only feeds the image stream (shift, scale)
        for param in ("weight", "bias"):
            modulation = t[f"{src}norm1_context.linear.{param}"]
            out[f"{context}adaLN_modulation.1.{param}"] = (
                _swap_halves(modulation) if last else modulation
            )
    return out


def sd35_checkpoint(
    transformer: StateDict,
    vae: StateDict,
    clip_l: StateDict | None = None,
    clip_g: StateDict | None = None,
    t5: StateDict | None = None,
) -> StateDict:
    """An SD3/SD3.5 single file: MMDiT and VAE, text encoders only when given (Stability's
    `sd3.5_large.safetensors` has none; the `..._incl_clips_t5xxl` variants have all three)."""
    out = {**sd3_transformer_to_original(transformer), **vae_to_ldm(vae)}
    if clip_l is not None:
        # the SD3 loader builds CLIP-L's projection itself (an identity): files leave it out
        without_projection = {k: v for k, v in clip_l.items() if k != "text_projection.weight"}
        out |= clip_to_original(without_projection, SD35_CLIP_L_PREFIX)
    if clip_g is not None:
        out |= clip_to_original(clip_g, SD35_CLIP_G_PREFIX)
    if t5 is not None:
        out |= t5_to_original(t5, SD35_T5_PREFIX)
    return out


def t5_to_original(t5: StateDict, prefix: str = "") -> StateDict:
    """A T5EncoderModel state dict as single files hold it: transformers names, without the
    `encoder.embed_tokens.weight` copy of the tied `shared.weight`.

    `prefix=""`: ComfyUI's `t5xxl_fp16.safetensors`; `SD35_T5_PREFIX`: SD3.5 all-in-one.
    """
    return {
        f"{prefix}{key}": value for key, value in t5.items() if key != "encoder.embed_tokens.weight"
    }


def flux_transformer_to_original(transformer: StateDict, prefix: str = "") -> StateDict:
    """A FluxTransformer2DModel state dict in BFL's layout (`flux1-dev.safetensors`: prefix "";
    ComfyUI-saved checkpoints: `model.diffusion_model.`). dev has `guidance_in`, schnell not."""
    t = transformer
    out: StateDict = {}
    _renamed(
        t,
        {
            "time_text_embed.timestep_embedder.linear_1": "time_in.in_layer",
            "time_text_embed.timestep_embedder.linear_2": "time_in.out_layer",
            "time_text_embed.text_embedder.linear_1": "vector_in.in_layer",
            "time_text_embed.text_embedder.linear_2": "vector_in.out_layer",
            "time_text_embed.guidance_embedder.linear_1": "guidance_in.in_layer",
            "time_text_embed.guidance_embedder.linear_2": "guidance_in.out_layer",
            "context_embedder": "txt_in",
            "x_embedder": "img_in",
            "proj_out": "final_layer.linear",
        },
        out,
        prefix,
    )
    _final_modulation(t, out, prefix)
    for i in range(_blocks(t, "transformer_blocks")):
        src = f"transformer_blocks.{i}."
        dst = f"{prefix}double_blocks.{i}."
        _cat_qkv(t, f"{src}attn", IMAGE_QKV, out, f"{dst}img_attn.qkv")
        _cat_qkv(t, f"{src}attn", TEXT_QKV, out, f"{dst}txt_attn.qkv")
        names = {
            f"{src}norm1.linear": "img_mod.lin",
            f"{src}norm1_context.linear": "txt_mod.lin",
            f"{src}attn.to_out.0": "img_attn.proj",
            f"{src}attn.to_add_out": "txt_attn.proj",
            f"{src}ff.net.0.proj": "img_mlp.0",
            f"{src}ff.net.2": "img_mlp.2",
            f"{src}ff_context.net.0.proj": "txt_mlp.0",
            f"{src}ff_context.net.2": "txt_mlp.2",
        }
        _renamed(t, names, out, dst)
        for norm, target in (
            ("attn.norm_q", "img_attn.norm.query_norm"),
            ("attn.norm_k", "img_attn.norm.key_norm"),
            ("attn.norm_added_q", "txt_attn.norm.query_norm"),
            ("attn.norm_added_k", "txt_attn.norm.key_norm"),
        ):
            out[f"{dst}{target}.scale"] = t[f"{src}{norm}.weight"]
    for i in range(_blocks(t, "single_transformer_blocks")):
        src = f"single_transformer_blocks.{i}."
        dst = f"{prefix}single_blocks.{i}."
        _cat(
            t,
            [f"{src}attn.to_q", f"{src}attn.to_k", f"{src}attn.to_v", f"{src}proj_mlp"],
            out,
            f"{dst}linear1",
        )
        _renamed(t, {f"{src}norm.linear": "modulation.lin", f"{src}proj_out": "linear2"}, out, dst)
        out[f"{dst}norm.query_norm.scale"] = t[f"{src}attn.norm_q.weight"]
        out[f"{dst}norm.key_norm.scale"] = t[f"{src}attn.norm_k.weight"]
    return out
