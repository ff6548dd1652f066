"""Diffusion-model files on a server: family by name, parts by name, and their workflows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from studio.core.errors import RequestError
from studio.core.request import GenerationRequest, Mode
from studio.remote.catalog import UNKNOWN_FAMILY, ServerCatalog, _choices
from studio.remote.families import DiffusionModel
from studio.remote.workflows import SAVE_NODE, build_workflow

FLUX = "flux1-dev.safetensors"
SD35 = "sd3.5_large.safetensors"
ENCODERS = ("clip_g.safetensors", "clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors")
REQUEST = GenerationRequest(
    prompt="a snail", scheduler="Euler", steps=4, seed=3, width=64, height=64, guidance_scale=2.5
)


def _catalog(unets=(FLUX,), encoders=(*ENCODERS, "t5xxl_fp16.safetensors"), vaes=None):
    vaes = vaes or ("sdxl_vae.safetensors", "ae.safetensors", "sd3_vae.safetensors")
    return ServerCatalog(
        {
            "checkpoints": ("sd15.safetensors",),
            "diffusion_models": tuple(unets),
            "text_encoders": tuple(encoders),
            "vae": tuple(vaes),
        }
    )


def _by_class(workflow):
    return {node["class_type"]: node["inputs"] for node in workflow.values()}


def test_flux_dev_with_all_parts_runs_with_its_familys_defaults():
    catalog = _catalog()
    info = {m.id: m for m in catalog.models()}[FLUX]
    assert info.usable and FLUX in catalog.runnable()
    assert (info.family, info.variant, info.default_steps, info.recommended_guidance) == (
        "flux",
        "flux-dev",
        28,
        3.5,
    )
    assert info.samplers == ("Euler", "UniPC") and info.size_multiple == 16
    assert not info.uses_negative_prompt and info.uses_true_cfg
    assert ("vae", "ae.safetensors") in info.components
    source = catalog.source(FLUX)
    assert source.encoders == ("clip_l.safetensors", "t5xxl_fp16.safetensors")  # fp16 first
    assert source.vae == "ae.safetensors"


def test_flux_dev_graph_guides_through_flux_guidance_with_cfg_1():
    workflow = build_workflow(REQUEST, _catalog().source(FLUX))
    nodes = _by_class(workflow)
    assert "CheckpointLoaderSimple" not in nodes
    assert nodes["UNETLoader"] == {"unet_name": FLUX, "weight_dtype": "default"}
    assert nodes["DualCLIPLoader"] == {
        "clip_name1": "clip_l.safetensors",
        "clip_name2": "t5xxl_fp16.safetensors",
        "type": "flux",
        "device": "default",
    }
    assert nodes["VAELoader"] == {"vae_name": "ae.safetensors"}
    assert nodes["FluxGuidance"] == {"conditioning": ["6", 0], "guidance": 2.5}
    assert nodes["EmptySD3LatentImage"] == {"width": 64, "height": 64, "batch_size": 1}
    sampler = workflow["3"]["inputs"]
    assert sampler["cfg"] == 1.0 and sampler["positive"] == ["21", 0]
    assert sampler["model"] == ["4", 0] and sampler["negative"] == ["7", 0]
    assert (sampler["sampler_name"], sampler["scheduler"]) == ("euler", "simple")
    assert workflow["6"]["inputs"]["clip"] == ["19", 0]
    assert workflow["8"]["inputs"]["vae"] == ["20", 0]
    assert workflow[SAVE_NODE]["inputs"]["images"] == ["8", 0]


def test_flux_dev_samples_with_real_cfg_only_for_a_negative_prompt_with_true_cfg():
    source = _catalog().source(FLUX)
    request = replace(REQUEST, negative_prompt="blur", true_cfg_scale=3.0)
    assert build_workflow(request, source)["3"]["inputs"]["cfg"] == 3.0
    no_negative = replace(request, negative_prompt="")
    assert build_workflow(no_negative, source)["3"]["inputs"]["cfg"] == 1.0


def test_flux_schnell_takes_no_guidance_and_few_steps():
    name = "flux1-schnell-fp8.safetensors"
    catalog = _catalog(unets=(name,))
    info = catalog.models()[1]
    assert (info.variant, info.default_steps, info.uses_guidance) == ("flux-schnell", 4, False)
    workflow = build_workflow(REQUEST, catalog.source(name))
    assert "FluxGuidance" not in _by_class(workflow)
    assert workflow["3"]["inputs"]["cfg"] == 1.0 and workflow["3"]["inputs"]["positive"] == [
        "6",
        0,
    ]


def test_flux_without_t5_is_listed_naming_the_missing_part():
    catalog = _catalog(encoders=("clip_l.safetensors", "clip_g.safetensors"))
    info = {m.id: m for m in catalog.models()}[FLUX]
    assert info.problem == (
        "needs a T5-XXL text encoder (t5xxl_*.safetensors) in models/text_encoders"
    )
    assert FLUX not in catalog.runnable()
    with pytest.raises(KeyError):
        catalog.source(FLUX)


def test_flux_without_a_vae_names_the_vae():
    catalog = _catalog(vaes=("sdxl_vae.safetensors", "flux2-vae.safetensors"))
    assert catalog.models()[1].problem == "needs a FLUX VAE (ae.safetensors) in models/vae"


def test_sd35_loads_three_encoders_and_shifts_the_model():
    catalog = _catalog(unets=(SD35,))
    info = catalog.models()[1]
    assert (info.variant, info.default_steps, info.recommended_guidance) == ("sd35_large", 28, 3.5)
    assert info.uses_negative_prompt and not info.notes
    request = replace(REQUEST, negative_prompt="blur", guidance_scale=4.5)
    workflow = build_workflow(request, catalog.source(SD35))
    nodes = _by_class(workflow)
    assert nodes["TripleCLIPLoader"] == {
        "clip_name1": "clip_l.safetensors",
        "clip_name2": "clip_g.safetensors",
        "clip_name3": "t5xxl_fp16.safetensors",
    }
    assert nodes["ModelSamplingSD3"] == {"model": ["4", 0], "shift": 3.0}
    assert nodes["VAELoader"] == {"vae_name": "sd3_vae.safetensors"}
    assert "FluxGuidance" not in nodes and "EmptySD3LatentImage" in nodes
    sampler = workflow["3"]["inputs"]
    assert sampler["model"] == ["22", 0] and sampler["cfg"] == 4.5
    assert sampler["positive"] == ["6", 0]


def test_sd35_without_t5_runs_on_its_two_clips_and_says_so():
    name = "sd3.5_medium.safetensors"
    catalog = _catalog(unets=(name,), encoders=("clip_l.safetensors", "clip_g.safetensors"))
    info = catalog.models()[1]
    assert info.usable and info.variant == "sd35_medium" and info.default_steps == 40
    assert info.notes == (
        "runs without T5-XXL text encoder (no t5xxl_*.safetensors on the server)",
    )
    nodes = _by_class(build_workflow(REQUEST, catalog.source(name)))
    assert nodes["DualCLIPLoader"]["type"] == "sd3" and "TripleCLIPLoader" not in nodes


@pytest.mark.parametrize(
    "name", ["my_unet.safetensors", "flux1-kontext-dev.safetensors", "flux1-fill-dev.safetensors"]
)
def test_a_name_that_says_no_family_we_run_is_listed_with_the_reason(name):
    catalog = _catalog(unets=(name,))
    assert catalog.models()[1].problem == UNKNOWN_FAMILY
    assert catalog.runnable() == {"sd15.safetensors"}


def test_img2img_and_inpaint_on_a_diffusion_model_encode_with_its_vae():
    source = _catalog().source(FLUX)
    img2img = build_workflow(replace(REQUEST, mode=Mode.IMG2IMG, strength=0.5), source, "in.png")
    assert img2img["11"]["inputs"] == {"pixels": ["10", 0], "vae": ["20", 0]}
    assert img2img["3"]["inputs"]["denoise"] == 0.5
    assert "EmptySD3LatentImage" not in _by_class(img2img)
    inpaint = build_workflow(replace(REQUEST, mode=Mode.INPAINT), source, "in.png", "mask.png")
    assert inpaint["13"]["inputs"] == {"samples": ["11", 0], "mask": ["12", 0]}
    assert inpaint[SAVE_NODE]["inputs"]["images"] == ["14", 0]
    assert inpaint["21"]["class_type"] == "FluxGuidance"


def test_a_flow_model_refuses_samplers_it_cannot_run():
    source: DiffusionModel = _catalog().source(FLUX)
    with pytest.raises(RequestError, match="the DDIM sampler does not run flow-matching models"):
        build_workflow(replace(REQUEST, scheduler="DDIM"), source)
    uni = build_workflow(replace(REQUEST, scheduler="UniPC"), source)["3"]["inputs"]
    assert (uni["sampler_name"], uni["scheduler"]) == ("uni_pc", "simple")


def test_file_lists_are_read_from_both_object_info_forms():
    old = {"input": {"required": {"clip_name1": [["a.safetensors", "b.sft"], {}]}}}
    new = {"input": {"required": {"clip_name1": ["COMBO", {"options": ["c.safetensors"]}]}}}
    assert _choices(old, "clip_name1") == ("a.safetensors", "b.sft")
    assert _choices(new, "clip_name1") == ("c.safetensors",)
    assert _choices(None, "clip_name1") == ()


def test_an_all_in_one_flux_checkpoint_samples_as_flux():
    catalog = ServerCatalog({"checkpoints": ("sd15.safetensors", "flux1-dev-fp8.safetensors")})
    infos = {m.id: m for m in catalog.models()}
    flux = infos["flux1-dev-fp8.safetensors"]
    assert (flux.family, flux.variant, flux.samplers) == ("flux", "flux-dev", ("Euler", "UniPC"))
    assert flux.family_label == "FLUX.1 dev (ComfyUI checkpoint)"
    assert infos["sd15.safetensors"].family == "unknown"  # the server knows what it is
    nodes = _by_class(build_workflow(REQUEST, catalog.source("flux1-dev-fp8.safetensors")))
    assert nodes["CheckpointLoaderSimple"]["ckpt_name"] == "flux1-dev-fp8.safetensors"
    assert nodes["FluxGuidance"]["guidance"] == 2.5 and nodes["KSampler"]["cfg"] == 1.0
    assert "EmptySD3LatentImage" in nodes and nodes["KSampler"]["scheduler"] == "simple"
    assert "UNETLoader" not in nodes and "DualCLIPLoader" not in nodes


def test_an_all_in_one_sd35_checkpoint_gets_its_shift_and_a_unet_checkpoint_none():
    catalog = ServerCatalog({"checkpoints": ("sd15.safetensors", "sd3.5_large.safetensors")})
    sd35 = build_workflow(REQUEST, catalog.source("sd3.5_large.safetensors"))
    nodes = _by_class(sd35)
    assert nodes["ModelSamplingSD3"] == {"model": ["4", 0], "shift": 3.0}
    assert nodes["KSampler"]["model"] == ["22", 0] and nodes["KSampler"]["cfg"] == 2.5
    plain = _by_class(build_workflow(REQUEST, catalog.source("sd15.safetensors")))
    assert "ModelSamplingSD3" not in plain and "EmptyLatentImage" in plain
    assert plain["KSampler"]["model"] == ["4", 0]
