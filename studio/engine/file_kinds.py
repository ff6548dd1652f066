"""What a checkpoint file is, from its tensor names and shapes alone.

A diffusion model (UNet or transformer, maybe with its VAE and text encoders) is identified
further by diffusers' own single-file detection; everything else gets a name a person knows:
a LoRA, a lone VAE, a text encoder, a ControlNet, an embedding, or an unknown file.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.engine.checkpoints import CheckpointHeader

DIFFUSION_MARKERS = (
    "model.diffusion_model.",  # A1111/Civitai all-in-one, SD3.5 and prefixed Flux files
    "double_blocks.",  # FLUX.1 transformer as BFL ships it (and GGUF)
    "joint_blocks.",  # SD3 MMDiT without prefix
)
LORA_MARKERS = ("lora_up", "lora_down", "lora_A", "lora_B", ".hada_w1", ".lokr_w1")
CONTROLNET_MARKERS = ("control_model.", "controlnet_cond_embedding", "input_hint_block.")


@dataclass(frozen=True)
class FileKind:
    kind: str  # model, lora, vae, text_encoder, controlnet, embedding, unknown
    detail: str = ""  # for components: clip_l, clip_g, t5xxl, vae4, vae16

    def describe(self) -> str:
        """What a person is told when this file is offered as a model."""
        return {
            "lora": "a LoRA, not a model: apply it to a model of its family",
            "vae": "a VAE on its own, not a model: it completes or overrides a model's VAE",
            "text_encoder": f"a text encoder ({self.detail}) on its own, not a model",
            "controlnet": "a ControlNet, not a model (ControlNets are not supported yet)",
            "embedding": "a textual-inversion embedding, not a model",
        }.get(self.kind, "an unknown architecture (not a Stable Diffusion, SD3 or FLUX model)")


def classify(header: CheckpointHeader) -> FileKind:
    names = header.tensors.keys()
    if any(marker in name for name in names for marker in LORA_MARKERS):
        return FileKind("lora")
    if any(name.startswith(CONTROLNET_MARKERS) or "input_hint_block" in name for name in names):
        return FileKind("controlnet")
    if any(name.startswith(DIFFUSION_MARKERS) for name in names):
        return FileKind("model")
    vae = _vae_channels(header)
    if vae:
        return FileKind("vae", f"vae{vae}")
    encoder = _text_encoder(header)
    if encoder:
        return FileKind("text_encoder", encoder)
    if any(
        name in ("emb_params", "clip_l", "clip_g") or name.startswith("string_to_param")
        for name in names
    ):
        return FileKind("embedding")
    return FileKind("unknown")


def _vae_channels(header: CheckpointHeader) -> int:
    """Latent channels of a VAE file in the original layout (diffusers' too), else 0."""
    for name in ("decoder.conv_in.weight", "first_stage_model.decoder.conv_in.weight"):
        entry = header.tensors.get(name)
        if entry is not None and len(entry.shape) == 4:
            return entry.shape[1]
    return 0


def _text_encoder(header: CheckpointHeader) -> str:
    """clip_l, clip_g or t5xxl for a text encoder as ComfyUI keeps them, else ''."""
    for name, entry in header.tensors.items():
        if name.endswith("embeddings.token_embedding.weight") and len(entry.shape) == 2:
            return "clip_g" if entry.shape[1] >= 1280 else "clip_l"
        if name in ("shared.weight", "encoder.embed_tokens.weight") and len(entry.shape) == 2:
            return "t5xxl"  # the T5 that SD3 and FLUX.1 read; a smaller one fails at load
    return ""
