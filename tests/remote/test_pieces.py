"""The ComfyUI client's plain parts: sampler names, workflows, binary frames, server names."""

from __future__ import annotations

import json
import struct
from dataclasses import replace

import pytest

from studio.core.errors import RequestError
from studio.core.request import GenerationRequest, Mode
from studio.core.schedulers import SCHEDULER_NAMES
from studio.remote.families import Checkpoint
from studio.remote.frames import parse_frame
from studio.remote.samplers import REMOTE_SAMPLERS, from_comfy, to_comfy
from studio.remote.server import ServerConfig
from studio.remote.workflows import SAVE_NODE, build_workflow

BASE = GenerationRequest(prompt="a snail", negative_prompt="blur", seed=3, width=64, height=48)


@pytest.mark.parametrize("name", REMOTE_SAMPLERS)
def test_every_offered_sampler_maps_there_and_back(name):
    assert from_comfy(*to_comfy(name)) == name


def test_pndm_is_not_offered_and_says_why():
    assert set(SCHEDULER_NAMES) - set(REMOTE_SAMPLERS) == {"PNDM"}
    with pytest.raises(RequestError, match="PNDM has no ComfyUI sampler"):
        to_comfy("PNDM")


def test_comfyui_pairs_we_never_send_still_get_our_nearest_name():
    assert from_comfy("dpmpp_2m", "exponential") == "DPM++ 2M"
    assert from_comfy("euler_ancestral", "karras") == "Euler a"
    assert from_comfy("uni_pc_bh2", "normal") == "UniPC"


def _classes(workflow):
    return {node["class_type"] for node in workflow.values()}


def test_txt2img_workflow_holds_the_request():
    workflow = build_workflow(BASE, Checkpoint("sd15.safetensors"))
    sampler = workflow["3"]["inputs"]
    assert (sampler["seed"], sampler["steps"], sampler["cfg"], sampler["denoise"]) == (
        3,
        20,
        7.5,
        1,
    )
    assert (sampler["sampler_name"], sampler["scheduler"]) == ("ddim", "ddim_uniform")
    assert workflow["5"]["inputs"] == {"width": 64, "height": 48, "batch_size": 1}
    assert workflow["6"]["inputs"]["text"] == "a snail"
    assert workflow["7"]["inputs"]["text"] == "blur"
    assert workflow["4"]["inputs"]["ckpt_name"] == "sd15.safetensors"
    assert workflow[SAVE_NODE]["class_type"] == "SaveImage"
    json.dumps(workflow)  # API format is plain JSON


def test_img2img_encodes_the_uploaded_image_and_denoises_by_strength():
    request = replace(BASE, mode=Mode.IMG2IMG, strength=0.4)
    workflow = build_workflow(request, Checkpoint("m"), "in.png")
    assert workflow["10"]["inputs"]["image"] == "in.png"
    assert workflow["3"]["inputs"]["latent_image"] == ["11", 0]
    assert workflow["3"]["inputs"]["denoise"] == 0.4
    assert "EmptyLatentImage" not in _classes(workflow)


def test_inpaint_masks_the_latent_and_pastes_the_original_back_with_a_feather():
    request = replace(BASE, mode=Mode.INPAINT, mask_feather=6)
    workflow = build_workflow(request, Checkpoint("m"), "in.png", "mask.png")
    assert workflow["12"]["inputs"] == {"image": "mask.png", "channel": "red"}
    assert workflow["3"]["inputs"]["latent_image"] == ["13", 0]
    assert workflow["14"]["inputs"]["destination"] == ["10", 0]
    assert workflow["14"]["inputs"]["mask"] == ["18", 0]  # the blurred mask, kept inside
    assert workflow["16"]["inputs"]["blur_radius"] == 6
    assert workflow[SAVE_NODE]["inputs"]["images"] == ["14", 0]
    no_feather = build_workflow(replace(request, mask_feather=0), Checkpoint("m"), "i", "k")
    assert no_feather["14"]["inputs"]["mask"] == ["12", 0]
    assert "ImageBlur" not in _classes(no_feather)


def test_a_binary_preview_frame_gives_its_image_and_other_frames_nothing():
    assert parse_frame(struct.pack(">II", 1, 1) + b"\xff\xd8jpeg") == b"\xff\xd8jpeg"
    assert parse_frame(struct.pack(">II", 3, 1) + b"3text") is None
    assert parse_frame(b"\x00\x00") is None


def test_a_server_name_never_shows_the_token_or_credentials():
    server = ServerConfig("https://user:pw@gpu.example:8443/comfy/", token="s3cret")
    assert server.name == "gpu.example:8443/comfy"
    assert server.ws_url == "wss://user:pw@gpu.example:8443/comfy/ws"
    assert "s3cret" not in repr(server) and "pw" not in server.name
    assert server.headers == {"Authorization": "Bearer s3cret"}
    assert ServerConfig("127.0.0.1:8188").url == "http://127.0.0.1:8188"
    with pytest.raises(RequestError, match="not a server address"):
        ServerConfig("ftp://x")
