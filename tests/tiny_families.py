"""Tiny models of every family built in code, as diffusers' own tests build them.

Random weights in the real architectures (SDXL's two text encoders and micro-conditioning,
SD3's MMDiT with CLIP-L/G and optional T5, FLUX.1's packed 16-channel latents and guidance
embedding), with the real tokenizers bundled in resources/. Saved as diffusers folders, they
load through the same adapters as a user's models.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)

from studio.core.paths import RESOURCES
from tests.tiny_pipeline import tiny_components

CLIP_VOCAB = RESOURCES / "tokenizers" / "clip"
T5_TOKENIZER = RESOURCES / "configs" / "flux-dev" / "tokenizer_2"


def clip_tokenizer(pad_token: str | None = None) -> CLIPTokenizer:
    options = {"pad_token": pad_token} if pad_token else {}
    return CLIPTokenizer(
        vocab=str(CLIP_VOCAB / "vocab.json"),
        merges=str(CLIP_VOCAB / "merges.txt"),
        model_max_length=77,
        **options,
    )


def clip_config(tokenizer: CLIPTokenizer, hidden: int = 32, layers: int = 2) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=layers,
        max_position_embeddings=77,
        projection_dim=hidden,
        hidden_act="gelu",
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def t5_encoder() -> tuple[T5EncoderModel, T5TokenizerFast]:
    tokenizer = T5TokenizerFast.from_pretrained(T5_TOKENIZER)
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tokenizer), d_model=32, d_ff=37, d_kv=8, num_heads=4, num_layers=2,
        relative_attention_num_buckets=8, feed_forward_proj="gated-gelu",
    )  # fmt: skip
    return T5EncoderModel(config), tokenizer


def vae16() -> AutoencoderKL:
    """A 16-channel VAE at scale 8, with SD3's shift and scale (Flux's differ only in value)."""
    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=(8, 8, 8, 8),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=16,
        norm_num_groups=4,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5305,
    )


def save_tiny_sdxl(folder: Path) -> Path:
    base = tiny_components()
    tokenizer, tokenizer_2 = clip_tokenizer(), clip_tokenizer("!")
    torch.manual_seed(0)
    # The tiny SD UNet, with SDXL's additions: linear projections, the added text-time
    # embedding of pooled text and size micro-conditioning, a deeper second block.
    unet = UNet2DConditionModel(
        **{
            **dict(base["unet"].config),
            "attention_head_dim": (2, 4),
            "use_linear_projection": True,
            "addition_embed_type": "text_time",
            "addition_time_embed_dim": 8,
            "transformer_layers_per_block": (1, 2),
            "projection_class_embeddings_input_dim": 6 * 8 + 64,  # + the pooled width
            "cross_attention_dim": 32 + 64,
        }
    )
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(clip_config(tokenizer))
    torch.manual_seed(0)
    # Ten layers: diffusers tells an SDXL file by its second encoder's tenth block; and a width
    # unlike the first's, as in the real model: diffusers tells the two encoders apart by it.
    text_encoder_2 = CLIPTextModelWithProjection(clip_config(tokenizer_2, hidden=64, layers=10))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
        timestep_spacing="leading",
    )  # fmt: skip
    StableDiffusionXLPipeline(
        vae=base["vae"], text_encoder=text_encoder, text_encoder_2=text_encoder_2,
        tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet, scheduler=scheduler,
    ).save_pretrained(folder)  # fmt: skip
    return folder


def save_tiny_sd_inpainting(folder: Path) -> Path:
    """SD 1.5 inpainting's layout: a UNet taking 9 channels (latents, mask, masked image)."""
    components = tiny_components()
    torch.manual_seed(0)
    components["unet"] = UNet2DConditionModel(
        **{**dict(components["unet"].config), "in_channels": 9}
    )
    StableDiffusionInpaintPipeline(**components, requires_safety_checker=False).save_pretrained(
        folder
    )
    return folder


def tiny_sd3_pipeline(with_t5: bool = True) -> StableDiffusion3Pipeline:
    """SD3's layout: MMDiT on 16 latent channels, CLIP-L and CLIP-G, and T5 or none."""
    tokenizer, tokenizer_2 = clip_tokenizer(), clip_tokenizer("!")
    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(
        sample_size=8, patch_size=2, in_channels=16, out_channels=16, num_layers=2,
        attention_head_dim=8, num_attention_heads=4, caption_projection_dim=32,
        joint_attention_dim=32, pooled_projection_dim=64, pos_embed_max_size=16,
    )  # fmt: skip
    torch.manual_seed(0)
    text_encoder = CLIPTextModelWithProjection(clip_config(tokenizer))
    torch.manual_seed(0)
    text_encoder_2 = CLIPTextModelWithProjection(clip_config(tokenizer_2))
    text_encoder_3, tokenizer_3 = t5_encoder() if with_t5 else (None, None)
    return StableDiffusion3Pipeline(
        transformer=transformer, vae=vae16(), scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        text_encoder=text_encoder, tokenizer=tokenizer, text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2, text_encoder_3=text_encoder_3, tokenizer_3=tokenizer_3,
    )  # fmt: skip


def save_tiny_sd3(folder: Path, with_t5: bool = True) -> Path:
    tiny_sd3_pipeline(with_t5).save_pretrained(folder)
    return folder


def save_tiny_flux(folder: Path, dev: bool = True) -> Path:
    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32,
        axes_dims_rope=[4, 4, 8], guidance_embeds=dev,
    )  # fmt: skip
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(clip_config(tokenizer))
    text_encoder_2, tokenizer_2 = t5_encoder()
    vae = vae16()
    vae.register_to_config(shift_factor=0.1159, scaling_factor=0.3611)
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=dev, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096,
    )  # fmt: skip
    FluxPipeline(
        transformer=transformer, vae=vae, scheduler=scheduler, text_encoder=text_encoder,
        tokenizer=tokenizer, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
    ).save_pretrained(folder)  # fmt: skip
    return folder
