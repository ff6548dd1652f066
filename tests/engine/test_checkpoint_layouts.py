"""The original-layout writers in tests.checkpoints are exact inverses of diffusers' converters.

Tiny models built in code are written in the layout users' single files have, then converted
back with diffusers' own forward converters: every tensor must come back unchanged.
"""

from __future__ import annotations

import accelerate
import pytest
import torch
from diffusers import (
    AutoencoderKL,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    UNet2DConditionModel,
)
from diffusers.loaders import single_file_utils as sfu
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    T5Config,
    T5EncoderModel,
)

from tests.checkpoints.files import (
    read_header,
    write_header_only,
    write_random,
    write_single_file,
)
from tests.checkpoints.mmdit import (
    flux_transformer_to_original,
    sd3_transformer_to_original,
    sd35_checkpoint,
    t5_to_original,
)
from tests.checkpoints.sd import (
    SD1_CLIP_PREFIX,
    SD2_OPEN_CLIP_PREFIX,
    SDXL_CLIP_PREFIX,
    SDXL_OPEN_CLIP_PREFIX,
    SDXL_REFINER_OPEN_CLIP_PREFIX,
    StateDict,
    clip_to_original,
    open_clip_to_original,
    sd1_checkpoint,
    unet_to_ldm,
    vae_to_ldm,
)


def assert_same(got: StateDict, expected: StateDict) -> None:
    assert sorted(got) == sorted(expected)
    for key, tensor in expected.items():
        assert got[key].shape == tensor.shape, key
        assert torch.equal(got[key], tensor), key


def flat(state_dict: StateDict) -> StateDict:
    """transformers 5's CLIPTextModel has no `text_model.` level; the converters still add it."""
    return {key.removeprefix("text_model."): value for key, value in state_dict.items()}


def tiny_sd_unet(in_channels: int = 4) -> UNet2DConditionModel:
    torch.manual_seed(0)
    return UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=in_channels,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
    )


def tiny_sdxl_unet(in_channels: int = 4) -> UNet2DConditionModel:
    torch.manual_seed(0)
    return UNet2DConditionModel(
        block_out_channels=(32, 64, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=in_channels,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4, 8),
        transformer_layers_per_block=(1, 2, 2),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=80,
        cross_attention_dim=64,
    )


def tiny_vae(latent_channels: int) -> AutoencoderKL:
    """4 channels with quant convs (SD, SDXL); 16 without (SD3, FLUX.1)."""
    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=(8, 16, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=latent_channels,
        norm_num_groups=4,
        use_quant_conv=latent_channels == 4,
        use_post_quant_conv=latent_channels == 4,
    )


def tiny_clip_config(act: str = "quick_gelu") -> CLIPTextConfig:
    return CLIPTextConfig(
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=1000,
        max_position_embeddings=77,
        projection_dim=32,
        hidden_act=act,
        bos_token_id=0,
        eos_token_id=2,
    )


def tiny_clip() -> CLIPTextModel:
    torch.manual_seed(0)
    return CLIPTextModel(tiny_clip_config())


def tiny_clip_with_projection() -> CLIPTextModelWithProjection:
    torch.manual_seed(0)
    return CLIPTextModelWithProjection(tiny_clip_config("gelu"))


@pytest.mark.parametrize("make_unet", [tiny_sd_unet, tiny_sdxl_unet], ids=["sd", "sdxl"])
@pytest.mark.parametrize("in_channels", [4, 9], ids=["txt2img", "inpainting"])
def test_unet_round_trip(make_unet, in_channels):
    unet = make_unet(in_channels)
    ldm = unet_to_ldm(unet.state_dict())
    assert all(key.startswith("model.diffusion_model.") for key in ldm)
    assert ldm["model.diffusion_model.input_blocks.0.0.weight"].shape[1] == in_channels
    back = sfu.convert_ldm_unet_checkpoint(ldm, dict(unet.config))
    assert_same(back, unet.state_dict())


@pytest.mark.parametrize("latent_channels", [4, 16])
@pytest.mark.parametrize("prefix", ["first_stage_model.", ""], ids=["all-in-one", "standalone"])
def test_vae_round_trip(latent_channels, prefix):
    vae = tiny_vae(latent_channels)
    ldm = vae_to_ldm(vae.state_dict(), prefix)
    assert ldm[f"{prefix}encoder.mid.attn_1.q.weight"].ndim == 4  # LDM's 1x1 convolutions
    back = sfu.convert_ldm_vae_checkpoint(ldm, dict(vae.config))
    assert_same(back, vae.state_dict())


@pytest.mark.parametrize("prefix", [SD1_CLIP_PREFIX, SDXL_CLIP_PREFIX])
def test_clip_round_trip(prefix):
    clip = tiny_clip()
    original = clip_to_original(clip.state_dict(), prefix)
    assert f"{prefix}text_model.embeddings.position_embedding.weight" in original
    assert_same(flat(sfu.convert_ldm_clip_checkpoint(original)), clip.state_dict())


def test_open_clip_sd2_round_trip():
    clip = tiny_clip()
    original = open_clip_to_original(clip.state_dict(), SD2_OPEN_CLIP_PREFIX)
    in_proj = original[f"{SD2_OPEN_CLIP_PREFIX}transformer.resblocks.0.attn.in_proj_weight"]
    assert in_proj.shape == (3 * 32, 32)
    back = sfu.convert_open_clip_checkpoint(clip, original, SD2_OPEN_CLIP_PREFIX)
    assert_same(flat(back), clip.state_dict())


@pytest.mark.parametrize("prefix", [SDXL_OPEN_CLIP_PREFIX, SDXL_REFINER_OPEN_CLIP_PREFIX])
def test_open_clip_with_projection_round_trip(prefix):
    clip = tiny_clip_with_projection()
    original = open_clip_to_original(clip.state_dict(), prefix)
    projection = clip.state_dict()["text_projection.weight"]
    assert torch.equal(original[f"{prefix}text_projection"], projection.T)
    assert_same(sfu.convert_open_clip_checkpoint(clip, original, prefix), clip.state_dict())


def test_sd1_all_in_one_has_each_part_under_its_prefix():
    checkpoint = sd1_checkpoint(
        tiny_sd_unet().state_dict(), tiny_vae(4).state_dict(), tiny_clip().state_dict()
    )
    prefixes = {key.split(".")[0] for key in checkpoint}
    assert prefixes == {"model", "first_stage_model", "cond_stage_model"}
    assert sfu.is_clip_model(checkpoint)


def tiny_sd3(**extra) -> SD3Transformer2DModel:
    torch.manual_seed(0)
    return SD3Transformer2DModel(
        sample_size=32,
        patch_size=1,
        in_channels=4,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=32,
        pooled_projection_dim=64,
        out_channels=4,
        pos_embed_max_size=32,
        **extra,
    )


def tiny_t5() -> T5EncoderModel:
    """T5 v1.1 style (gated GELU), as T5-XXL."""
    torch.manual_seed(0)
    return T5EncoderModel(
        T5Config(
            d_model=16,
            d_ff=32,
            num_layers=2,
            num_heads=2,
            d_kv=8,
            vocab_size=100,
            feed_forward_proj="gated-gelu",
        )
    )


@pytest.mark.parametrize(
    "extra",
    [{}, {"qk_norm": "rms_norm", "dual_attention_layers": (0,)}],
    ids=["sd3-medium-like", "sd35-medium-like"],
)
@pytest.mark.parametrize("prefix", ["model.diffusion_model.", ""])
def test_sd3_transformer_round_trip(extra, prefix):
    transformer = tiny_sd3(**extra)
    original = sd3_transformer_to_original(transformer.state_dict(), prefix)
    assert f"{prefix}joint_blocks.1.context_block.adaLN_modulation.1.weight" in original
    back = sfu.convert_sd3_transformer_checkpoint_to_diffusers(dict(original))
    assert_same(back, transformer.state_dict())


@pytest.mark.parametrize("guidance", [True, False], ids=["dev", "schnell"])
@pytest.mark.parametrize("prefix", ["", "model.diffusion_model."], ids=["bfl", "comfy"])
def test_flux_transformer_round_trip(guidance, prefix):
    """diffusers' converter hard-codes FLUX.1's width (3072) to split `linear1`, so no tiny model
    converts back. Instead: FLUX.1's real key set and first dimensions (one double and one single
    block), each tensor cut to width 1 along its other dimensions and filled with seeded noise.
    Every transform here (q/k/v/mlp concatenation, shift/scale swap) works along dimension 0."""
    with accelerate.init_empty_weights(include_buffers=True):
        model = FluxTransformer2DModel(num_layers=1, num_single_layers=1, guidance_embeds=guidance)
    generator = torch.Generator().manual_seed(0)
    state = {
        key: torch.randn(meta.shape[0], *(1,) * (meta.ndim - 1), generator=generator)
        for key, meta in model.state_dict().items()
    }
    original = flux_transformer_to_original(state, prefix)
    assert (f"{prefix}guidance_in.in_layer.weight" in original) == guidance
    assert f"{prefix}single_blocks.0.linear1.weight" in original
    back = sfu.convert_flux_transformer_checkpoint_to_diffusers(dict(original))
    assert_same(back, state)


def test_sd35_all_in_one_with_text_encoders_round_trips():
    transformer, vae = tiny_sd3(qk_norm="rms_norm"), tiny_vae(16)
    clip_l, clip_g, t5 = tiny_clip_with_projection(), tiny_clip_with_projection(), tiny_t5()
    checkpoint = sd35_checkpoint(
        transformer.state_dict(),
        vae.state_dict(),
        clip_l.state_dict(),
        clip_g.state_dict(),
        t5.state_dict(),
    )
    assert sfu.is_clip_sd3_model(checkpoint)
    assert sfu.is_open_clip_sd3_model(checkpoint)
    assert sfu.is_t5_in_single_file(checkpoint)
    back = sfu.convert_ldm_clip_checkpoint(checkpoint, "text_encoders.clip_l.transformer.")
    clip_l_state = clip_l.state_dict()
    del clip_l_state["text_projection.weight"]  # the SD3 loader makes CLIP-L's an identity
    assert_same(back, clip_l_state)
    back = sfu.convert_ldm_clip_checkpoint(checkpoint, "text_encoders.clip_g.transformer.")
    assert_same(back, clip_g.state_dict())
    t5_state = t5.state_dict()
    del t5_state["encoder.embed_tokens.weight"]  # tied to shared.weight
    assert_same(sfu.convert_sd3_t5_checkpoint_to_diffusers(checkpoint), t5_state)
    assert_same(sfu.convert_ldm_vae_checkpoint(checkpoint, dict(vae.config)), vae.state_dict())


def test_sd35_without_text_encoders_holds_only_mmdit_and_vae():
    checkpoint = sd35_checkpoint(tiny_sd3().state_dict(), tiny_vae(16).state_dict())
    assert {key.split(".")[0] for key in checkpoint} == {"model", "first_stage_model"}


@pytest.mark.parametrize(
    ("make_model", "to_original"),
    [
        (tiny_clip, lambda state: clip_to_original(state, "")),
        (tiny_t5, t5_to_original),
    ],
    ids=["clip_l.safetensors", "t5xxl_fp16.safetensors"],
)
def test_comfyui_standalone_text_encoders_load_with_transformers(tmp_path, make_model, to_original):
    """ComfyUI's text-encoder files hold transformers' own names: a folder with the config and
    the file as `model.safetensors` loads with `from_pretrained`, every tensor unchanged."""
    model = make_model()
    model.config.save_pretrained(tmp_path)
    write_single_file(tmp_path / "model.safetensors", to_original(model.state_dict()))
    loaded = type(model).from_pretrained(tmp_path, local_files_only=True)
    assert_same(loaded.state_dict(), model.state_dict())


def meta_layout() -> dict[str, torch.Tensor]:
    return {
        "big": torch.empty(1024, 1024, 16, dtype=torch.float16, device="meta"),
        "small": torch.empty(3, dtype=torch.bfloat16, device="meta"),
        "matrix": torch.empty(7, 5, device="meta"),
    }


def test_header_only_file_has_the_real_header_and_size_but_no_data(tmp_path):
    path = tmp_path / "model.safetensors"
    size = write_header_only(path, meta_layout())
    assert path.stat().st_size == size > 1024 * 1024 * 16 * 2
    assert path.stat().st_blocks * 512 < 64 * 1024  # a hole, not 32 MB on disk
    with safe_open(path, "pt") as handle:  # safetensors itself accepts it
        assert handle.get_slice("matrix").get_shape() == [7, 5]
        assert torch.count_nonzero(handle.get_tensor("small")) == 0
    header = read_header(path)
    assert {k: (v.shape, v.dtype) for k, v in header.items()} == {
        k: (v.shape, v.dtype) for k, v in meta_layout().items()
    }


def test_header_only_file_can_override_the_dtype(tmp_path):
    path = tmp_path / "model.safetensors"
    write_header_only(path, meta_layout(), torch.float8_e4m3fn)
    assert {t.dtype for t in read_header(path).values()} == {torch.float8_e4m3fn}


def test_random_file_is_seeded_full_size_and_loads(tmp_path):
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    size = write_random(first, meta_layout(), torch.float16, seed=3)
    write_random(second, meta_layout(), torch.float16, seed=3)
    assert first.stat().st_size == size
    assert first.read_bytes() == second.read_bytes()
    tensors = load_file(first)
    assert tensors["big"].shape == (1024, 1024, 16)
    assert tensors["big"].dtype == torch.float16
    assert tensors["big"].float().std().item() == pytest.approx(0.02, rel=0.01)


def test_single_file_round_trip(tmp_path):
    state = tiny_clip().state_dict()
    write_single_file(tmp_path / "clip.safetensors", state)
    assert_same(load_file(tmp_path / "clip.safetensors"), state)
