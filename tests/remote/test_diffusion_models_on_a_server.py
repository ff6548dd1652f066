"""A FLUX.1 diffusion model through the fake server, and the graph every PNG carries."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from PIL import Image

from studio.core.errors import RequestError
from studio.core.history import HistoryStore
from studio.core.metadata import read_png_request
from studio.core.outputs import save_result
from studio.core.request import GenerationRequest, Mode
from tests.remote.conftest import MODEL

FLUX = "flux1-dev.safetensors"
TOKEN = "tok-5a4b3c"
REQUEST = GenerationRequest(
    prompt="a snail",
    model=FLUX,
    scheduler="Euler",
    steps=3,
    seed=21,
    width=64,
    height=64,
    guidance_scale=4.0,
)


def _with_parts(fake):
    fake.text_encoders = ["clip_l.safetensors", "t5xxl_fp16.safetensors"]
    fake.scenario.token = TOKEN
    return fake


def _saved(result, tmp_path):
    entries = save_result(result, tmp_path, HistoryStore(tmp_path / "history.sqlite"))
    return entries[0].path


def _check_graph(png_path, sent):
    """The PNG's `workflow` is the graph of the API prompt it also carries."""
    info = Image.open(png_path).info
    prompt = json.loads(info["prompt"])
    graph = json.loads(info["workflow"])
    assert prompt == sent["prompt"]
    assert graph == sent["extra_data"]["extra_pnginfo"]["workflow"]
    assert {str(n["id"]): n["type"] for n in graph["nodes"]} == {
        node_id: node["class_type"] for node_id, node in prompt.items()
    }
    assert "Steps: 3" in info["parameters"]
    assert TOKEN.encode() not in png_path.read_bytes()
    return graph


def test_flux_txt2img_runs_on_the_server_with_its_parts(make_backend, fake, tmp_path):
    backend = make_backend(_with_parts(fake), token=TOKEN)
    info = {m.id: m for m in backend.models()}[FLUX]
    assert info.usable and info.family == "flux"
    result = backend.generate(REQUEST)
    sent = fake.prompts[0]
    classes = {node["class_type"] for node in sent["prompt"].values()}
    assert {"UNETLoader", "DualCLIPLoader", "VAELoader", "FluxGuidance"} <= classes
    assert "CheckpointLoaderSimple" not in classes
    assert sent["prompt"]["21"]["inputs"]["guidance"] == 4.0
    assert sent["prompt"]["3"]["inputs"]["cfg"] == 1.0
    assert TOKEN not in json.dumps(sent)
    path = _saved(result, tmp_path)
    graph = _check_graph(path, sent)
    guidance = next(n for n in graph["nodes"] if n["type"] == "FluxGuidance")
    assert guidance["widgets_values"] == [4.0]
    assert read_png_request(path).model == FLUX


def test_flux_img2img_runs_on_the_server(make_backend, fake, picture, tmp_path):
    backend = make_backend(_with_parts(fake), token=TOKEN)
    request = replace(REQUEST, mode=Mode.IMG2IMG, init_image=picture, strength=0.6)
    result = backend.generate(request)
    sent = fake.prompts[0]
    assert sent["prompt"]["11"]["inputs"]["vae"] == ["20", 0]
    assert sent["prompt"]["3"]["inputs"]["denoise"] == 0.6
    assert result.images[0].size == (64, 64)
    graph = _check_graph(_saved(result, tmp_path), sent)
    load = next(n for n in graph["nodes"] if n["type"] == "LoadImage")
    assert load["widgets_values"][0] in fake.uploads


def test_a_flux_model_refuses_a_sampler_it_cannot_run_before_sending(make_backend, fake):
    backend = make_backend(_with_parts(fake), token=TOKEN)
    with pytest.raises(RequestError, match=r"the DDIM sampler does not run FLUX\.1 dev"):
        backend.generate(replace(REQUEST, scheduler="DDIM"))
    assert not fake.prompts


def test_a_checkpoints_png_carries_the_graph_too(backend, fake, tmp_path):
    result = backend.generate(replace(REQUEST, model=MODEL, scheduler="DDIM"))
    graph = _check_graph(_saved(result, tmp_path), fake.prompts[0])
    sampler = next(n for n in graph["nodes"] if n["type"] == "KSampler")
    assert sampler["widgets_values"][:2] == [21, "fixed"]


def test_a_server_without_metadata_still_gives_both_chunks(backend, fake, tmp_path):
    fake.scenario.no_metadata = True
    result = backend.generate(replace(REQUEST, model=MODEL, scheduler="DDIM"))
    _check_graph(_saved(result, tmp_path), fake.prompts[0])
