"""The PNG info reader: parameters from the studio, the webui, Fooocus, ComfyUI and InvokeAI."""

from __future__ import annotations

import json

import pytest
from PIL import Image, PngImagePlugin

from studio.core.errors import ImageError
from studio.core.image_info import read_image_info
from studio.core.metadata import save_png
from studio.core.request import GenerationRequest

WEBUI = (
    "a castle on a hill\nNegative prompt: blurry\n"
    "Steps: 28, Sampler: Euler, Schedule type: Karras, CFG scale: 6, Seed: 99, Size: 512x768,"
    " Model: dreamshaper, Version: v1.10.1"
)
COMFY_GRAPH = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 123,
            "steps": 25,
            "cfg": 5.5,
            "sampler_name": "dpmpp_2m",
            "scheduler": "karras",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 640, "height": 448}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "fog", "clip": ["4", 1]}},
}
INVOKE = {
    "positive_prompt": "a red barn",
    "negative_prompt": "people",
    "seed": 7,
    "steps": 30,
    "cfg_scale": 7.5,
    "scheduler": "euler_a",
    "width": 512,
    "height": 512,
    "model": {"name": "sd-1.5", "base": "sd-1"},
}


def _png(path, **chunks: str):
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    Image.new("RGB", (8, 8), "gray").save(path, pnginfo=info)
    return path


def test_webui_parameters_keep_every_setting_including_the_schedule_type(tmp_path):
    info = read_image_info(_png(tmp_path / "a.png", parameters=WEBUI))
    assert info.source == "AUTOMATIC1111-compatible"
    assert (info.prompt, info.negative_prompt) == ("a castle on a hill", "blurry")
    assert info.settings["Schedule type"] == "Karras"
    assert info.settings["Version"] == "v1.10.1"
    assert info.request.steps == 28 and info.request.scheduler == "Euler"
    assert info.notes == ["schedule type Karras is not available with Euler; restored as Euler"]


def test_dpm_karras_is_kept_whole(tmp_path):
    text = WEBUI.replace("Sampler: Euler", "Sampler: DPM++ 2M")
    info = read_image_info(_png(tmp_path / "a.png", parameters=text))
    assert info.request.scheduler == "DPM++ 2M Karras" and info.notes == []


def test_comfyui_graph(tmp_path):
    path = _png(tmp_path / "c.png", prompt=json.dumps(COMFY_GRAPH), workflow="{}")
    info = read_image_info(path)
    assert info.source == "ComfyUI"
    assert (info.prompt, info.negative_prompt) == ("a lighthouse", "fog")
    assert (
        info.settings["Schedule type"] == "karras" and info.settings["Model"] == "v1-5.safetensors"
    )
    request = info.request
    assert (request.seed, request.steps, request.guidance_scale) == (123, 25, 5.5)
    assert (request.scheduler, request.size) == ("DPM++ 2M Karras", (640, 448))
    assert "workflow" in info.chunks


def test_invokeai_metadata(tmp_path):
    info = read_image_info(_png(tmp_path / "i.png", invokeai_metadata=json.dumps(INVOKE)))
    assert info.source == "InvokeAI"
    assert (info.request.prompt, info.request.negative_prompt) == ("a red barn", "people")
    assert (info.request.seed, info.request.scheduler, info.request.model) == (
        7,
        "Euler a",
        "sd-1.5",
    )


def test_our_own_png(tmp_path):
    request = GenerationRequest("a snail", steps=9, seed=5, scheduler="DPM++ 2M")
    path = save_png(Image.new("RGB", (8, 8)), tmp_path / "s.png", request, 5, "Snail Mini")
    info = read_image_info(path)
    assert info.source == "Snail Studio" and info.request == request and info.notes == []


def test_an_image_without_parameters(tmp_path):
    info = read_image_info(_png(tmp_path / "plain.png"))
    assert (info.source, info.settings, info.request) == ("", {}, None)


def test_an_unreadable_file_is_an_image_error(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.png"):
        read_image_info(tmp_path / "empty.png")
