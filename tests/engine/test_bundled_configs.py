"""The bundled diffusers configs (studio/resources/configs) describe the real models, and single
files load with them offline.

Every component is built from its config on the meta device (no memory for weights) and its
size checked against the published figure; the full-size original-layout key set of each type is
detected as that type by diffusers; and a header-only file of real size loads with
`from_single_file(path, config=folder, local_files_only=True)`, every weight of the file landing
in a parameter of the right shape.
"""

from __future__ import annotations

import contextlib

import diffusers
import pytest
import safetensors.torch
import torch
from diffusers.loaders import single_file_model, single_file_utils
from diffusers.models import model_loading_utils
from transformers import CLIPTokenizer, T5TokenizerFast

from tests.checkpoints.files import read_header, write_header_only
from tests.checkpoints.full_size import (
    CONFIGS,
    MODEL_TYPES,
    meta_model,
    open_clip_h,
    original_checkpoint,
)
from tests.checkpoints.sd import vae_to_ldm

M, B = 1e6, 1e9
# Published sizes (parameters). Where a figure is not the sum of diffusers' parameters, the
# comment says what it counts.
PUBLISHED = {
    ("v1", "unet"): 859.5 * M,
    ("inpainting", "unet"): 859.5 * M,
    ("v2", "unet"): 865.9 * M,
    ("xl_base", "unet"): 2.567 * B,
    ("xl_inpaint", "unet"): 2.567 * B,
    # Stability's sd_xl_refiner.yaml through diffusers' own config converter; "6.6B for the
    # base + refiner ensemble" agrees (3.5B base, 2.26B + 0.69B + 0.08B refiner).
    ("xl_refiner", "unet"): 2.26 * B,
    ("sd3", "transformer"): 2.03 * B,
    # "2.5B" counts the 384x384 position table (226.5M), a buffer in diffusers: see below.
    ("sd35_medium", "transformer"): 2.24 * B,
    ("sd35_large", "transformer"): 8.06 * B,
    ("flux-dev", "transformer"): 11.9 * B,
    ("flux-schnell", "transformer"): 11.9 * B,
}
VAE = {4: 83.7 * M, 16: 83.8 * M}
CLIP_L, OPEN_CLIP_BIGG, T5_XXL = 123 * M, 695 * M, 4.76 * B
# OpenCLIP ViT-H/14's text tower is 354M (24 blocks + projection); SD2 uses the penultimate
# layer, so diffusers' SD2 text encoder keeps 23 blocks and no projection: 354M - 13.6M.
OPEN_CLIP_H, SD2_TEXT_ENCODER = 354 * M, 340.4 * M
TEXT_ENCODERS = {
    "CLIPTextModel": CLIP_L,
    "CLIPTextModelWithProjection": OPEN_CLIP_BIGG,
    "T5EncoderModel": T5_XXL,
}
# File sizes of the published fp16/bf16 single files as the hub lists them (GB, 3 significant
# figures; SD1.5 and SD2.1 as their fp32 files / 2).
PUBLISHED_FILE_GB = {
    "v1": 4.27 / 2,
    "v2": 5.21 / 2,
    "xl_base": 6.94,
    "xl_refiner": 6.08,
    "sd3": 4.34,
    "sd35_medium": 5.11,
    "sd35_large": 16.5,
    "flux-dev": 23.8,
    "flux-schnell": 23.8,
}
PIPELINES = {
    "v1": "StableDiffusionPipeline",
    "inpainting": "StableDiffusionInpaintPipeline",
    "v2": "StableDiffusionPipeline",
    "xl_base": "StableDiffusionXLPipeline",
    "xl_inpaint": "StableDiffusionXLInpaintPipeline",
    "xl_refiner": "StableDiffusionXLImg2ImgPipeline",
    "sd3": "StableDiffusion3Pipeline",
    "sd35_medium": "StableDiffusion3Pipeline",
    "sd35_large": "StableDiffusion3Pipeline",
    "flux-dev": "FluxPipeline",
    "flux-schnell": "FluxPipeline",
}
CAT_CLIP = [49406, 320, 1125, 539, 320, 2368, 49407]  # "a photo of a cat"
CAT_T5 = [3, 9, 1202, 13, 3, 9, 1712, 1]


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def components(model_type: str) -> list[str]:
    return [
        folder.name
        for folder in sorted((CONFIGS / model_type).iterdir())
        if (folder / "config.json").exists()
    ]


def test_every_model_type_has_a_folder_with_its_pipeline():
    assert sorted(p.name for p in CONFIGS.iterdir() if p.is_dir()) == sorted(MODEL_TYPES)
    for model_type in MODEL_TYPES:
        index = diffusers.DiffusionPipeline.load_config(CONFIGS / model_type)
        assert index["_class_name"] == PIPELINES[model_type]


@pytest.mark.parametrize(("model_type", "component"), sorted(PUBLISHED))
def test_denoiser_size_matches_published(model_type, component):
    assert parameters(meta_model(model_type, component)) == pytest.approx(
        PUBLISHED[model_type, component], rel=0.005
    )


def test_sd35_medium_with_its_position_table_is_the_published_2_5b():
    model = meta_model("sd35_medium", "transformer")
    total = parameters(model) + model.pos_embed.pos_embed.numel()
    assert total == pytest.approx(2.47 * B, rel=0.005)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_vae_size_matches_published(model_type):
    model = meta_model(model_type, "vae")
    assert parameters(model) == pytest.approx(VAE[model.config.latent_channels], rel=0.002)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_text_encoder_sizes_match_published(model_type):
    for component in components(model_type):
        if not component.startswith("text_encoder"):
            continue
        model = meta_model(model_type, component)
        expected = TEXT_ENCODERS[type(model).__name__]
        if model_type == "v2":
            expected = SD2_TEXT_ENCODER
        elif model.config.model_type == "clip_text_model" and model.config.hidden_size == 768:
            expected = CLIP_L  # SD3's CLIP-L carries a 768x768 projection (0.6M) too
        assert parameters(model) == pytest.approx(expected, rel=0.01), component


def test_sd2_original_text_encoder_is_the_full_open_clip_h():
    assert sum(t.numel() for t in open_clip_h().values()) == pytest.approx(OPEN_CLIP_H, rel=0.002)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_tokenizers_load_offline_from_the_folder(model_type):
    for folder in sorted((CONFIGS / model_type).glob("tokenizer*")):
        if (folder / "tokenizer.json").exists():
            tokenizer = T5TokenizerFast.from_pretrained(folder, local_files_only=True)
            assert tokenizer("a photo of a cat").input_ids == CAT_T5
            assert tokenizer.pad_token_id == 0
            continue
        tokenizer = CLIPTokenizer.from_pretrained(folder, local_files_only=True)
        assert tokenizer("a photo of a cat").input_ids == CAT_CLIP
        assert tokenizer.model_max_length == 77
        config = (folder / "tokenizer_config.json").read_text()
        # OpenCLIP (SD2's tokenizer, SDXL's and SD3's tokenizer_2) pads with "!" (id 0)
        open_clip = model_type == "v2" or (
            folder.name == "tokenizer_2" and "flux" not in model_type
        )
        assert tokenizer.pad_token == ("!" if open_clip else "<|endoftext|>"), config


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_full_size_original_layout_is_detected_as_its_type(model_type):
    checkpoint = original_checkpoint(model_type)
    assert single_file_utils.infer_diffusers_model_type(checkpoint) == model_type


@pytest.fixture
def meta_loading(monkeypatch):
    """from_single_file reads only the file's header and builds every model on the meta device.

    diffusers' code runs unchanged otherwise (configs, tokenizers, scheduler, type detection,
    key conversion, shape checks). Returns {model class: (missing keys, unexpected keys)} for
    every state dict diffusers loads into a model.
    """
    monkeypatch.setattr(
        safetensors.torch, "load_file", lambda path, device="cpu": read_header(path)
    )
    monkeypatch.setattr(model_loading_utils, "_determine_param_device", lambda *_: "meta")
    loaded: dict[str, tuple[set[str], set[str]]] = {}
    original = model_loading_utils.load_model_dict_into_meta

    def recording(model, state_dict, *args, **kwargs):
        expected = set(model.state_dict())
        loaded[type(model).__name__] = (expected - set(state_dict), set(state_dict) - expected)
        return original(model, state_dict, *args, **kwargs)

    monkeypatch.setattr(single_file_model, "load_model_dict_into_meta", recording)
    monkeypatch.setattr(single_file_utils, "load_model_dict_into_meta", recording)
    return loaded


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_header_only_file_of_real_size_loads_offline_with_the_bundled_config(
    model_type, tmp_path, meta_loading
):
    path = tmp_path / f"{model_type}.safetensors"
    dtype = torch.bfloat16 if model_type.startswith("flux") else torch.float16
    size = write_header_only(path, original_checkpoint(model_type), dtype)
    assert path.stat().st_blocks * 512 < 1_000_000  # sparse: the data is a hole
    if model_type in PUBLISHED_FILE_GB:
        assert size / 1e9 == pytest.approx(PUBLISHED_FILE_GB[model_type], rel=0.003)

    config = str(CONFIGS / model_type)
    passed = {}
    if model_type.startswith(("sd3", "flux")):
        # Stability's sd3*.safetensors and BFL's flux1-*.safetensors hold no text encoders
        passed = {c: meta_model(model_type, c) for c in components(model_type) if "text" in c}
    if model_type.startswith("flux"):
        # ...and FLUX.1's VAE comes as BFL's ae.safetensors
        ae = tmp_path / "ae.safetensors"
        write_header_only(ae, vae_to_ldm(meta_model(model_type, "vae").state_dict(), ""), dtype)
        with torch.device("meta"):
            passed["vae"] = diffusers.AutoencoderKL.from_single_file(
                str(ae), config=config, subfolder="vae", local_files_only=True, device="meta"
            )
    pipeline_class = getattr(diffusers, PIPELINES[model_type])
    # MMDiTs compute their position table (up to 226M numbers) when built: do that on the meta
    # device too. (SD and SDXL's schedulers cannot be built there; their models need not.)
    on_meta = (
        torch.device("meta") if model_type.startswith(("sd3", "flux")) else contextlib.nullcontext()
    )
    with on_meta:
        pipe = pipeline_class.from_single_file(
            str(path), config=config, local_files_only=True, device="meta", **passed
        )

    assert type(pipe).__name__ == PIPELINES[model_type]
    denoiser = "transformer" if "transformer" in pipe.components else "unet"
    assert type(pipe.components[denoiser]).__name__ in meta_loading
    for model, (missing, unexpected) in meta_loading.items():
        assert not missing, (model, sorted(missing)[:5])
        assert not unexpected, (model, sorted(unexpected)[:5])
