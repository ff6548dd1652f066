"""Against a real ComfyUI server on 127.0.0.1:8188, when one is up (`../shared/comfyui/start.sh`).

Tiny jobs only (64x64, a few steps): the server runs on the same CPU. The model is the first
checkpoint the server lists, or `SNAIL_COMFY_MODEL`.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from studio.cli import main
from studio.core.errors import GenerationCancelled
from studio.core.history import HistoryStore
from studio.core.outputs import save_result
from studio.core.request import GenerationRequest, Mode
from studio.remote import ComfyBackend, ServerConfig

URL = os.environ.get("SNAIL_COMFY_URL", "http://127.0.0.1:8188")
SECOND_URL = os.environ.get("SNAIL_COMFY_URL2", "http://127.0.0.1:8189")


def _server_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/system_stats", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


pytestmark = pytest.mark.skipif(
    not _server_up(URL),
    reason=f"no ComfyUI server answers at {URL} (start ../shared/comfyui/start.sh)",
)


@pytest.fixture(scope="module")
def backend():
    made = ComfyBackend([ServerConfig(URL)], timeout=30)
    yield made
    made.close()


@pytest.fixture(scope="module")
def model(backend):
    wanted = os.environ.get("SNAIL_COMFY_MODEL")
    usable = [m.id for m in backend.models() if m.usable]
    if not usable:
        pytest.skip(f"the server at {URL} has no checkpoint")
    return wanted or usable[0]


def _request(model: str, **changes) -> GenerationRequest:
    fields = {
        "prompt": "a red square",
        "model": model,
        "scheduler": "Euler",
        "steps": 3,
        "width": 64,
        "height": 64,
        "seed": random.randint(0, 2**31),
    }
    return GenerationRequest(**{**fields, **changes})


def test_txt2img_with_a_preview_every_step(backend, model):
    updates = []
    result = backend.generate(_request(model), on_step=updates.append)
    assert [u.step for u in updates] == [1, 2, 3]
    assert all(u.preview is not None for u in updates)
    assert result.images[0].size == (64, 64)
    assert '"KSampler"' in result.png_text[0]["prompt"]


def test_img2img(backend, model):
    init = Image.new("RGB", (64, 64), "navy")
    result = backend.generate(_request(model, mode=Mode.IMG2IMG, init_image=init, strength=0.6))
    assert result.images[0].size == (64, 64)


def test_inpaint_keeps_pixels_outside_the_mask_exactly(backend, model):
    init = Image.new("RGB", (66, 61), "navy")  # not a multiple of 8: padded, then cropped back
    init.paste((250, 200, 0), (0, 0, 20, 61))
    mask = Image.new("L", (66, 61), 0)
    mask.paste(255, (24, 24, 56, 56))
    unsized = {"width": None, "height": None}  # the input's own size
    result = backend.generate(
        _request(model, mode=Mode.INPAINT, init_image=init, mask=mask, mask_feather=4, **unsized)
    )
    assert result.images[0].size == (66, 61)
    made, original = np.asarray(result.images[0]), np.asarray(init)
    outside = np.asarray(mask) == 0
    assert np.array_equal(made[outside], original[outside])


def test_cancel_mid_run_stops_the_server_job(backend, model):
    cancel = threading.Event()
    steps = []

    def on_step(update):
        steps.append(update.step)
        cancel.set()

    started = time.monotonic()
    with pytest.raises(GenerationCancelled):
        backend.generate(_request(model, steps=40), on_step=on_step, cancel=cancel)
    assert steps and steps[-1] < 40
    assert time.monotonic() - started < 30
    queue = httpx.get(f"{URL}/queue", timeout=5).json()
    assert queue == {"queue_running": [], "queue_pending": []}


def test_cli_generate_on_the_server(model, tmp_path, capsys):
    out = tmp_path / "cli.png"
    args = [
        "generate",
        "--server",
        URL,
        "--model",
        model,
        "--prompt",
        "a snail",
        "--steps",
        "2",
        "--width",
        "64",
        "--height",
        "64",
        "--scheduler",
        "Euler a",
        "--out",
        str(out),
    ]
    assert main(args) == 0, capsys.readouterr().err
    info = Image.open(out).info
    assert "Sampler: Euler a" in info["parameters"] and "prompt" in info


def test_the_png_carries_the_ui_workflow_of_its_prompt(backend, model, tmp_path):
    result = backend.generate(_request(model))
    path = save_result(result, tmp_path, HistoryStore(tmp_path / "h.sqlite"))[0].path
    info = Image.open(path).info
    prompt, graph = json.loads(info["prompt"]), json.loads(info["workflow"])
    assert graph["version"] == 0.4 and "parameters" in info
    assert {str(n["id"]): n["type"] for n in graph["nodes"]} == {
        node_id: node["class_type"] for node_id, node in prompt.items()
    }
    api_links = sum(isinstance(v, list) for n in prompt.values() for v in n["inputs"].values())
    assert len(graph["links"]) == api_links
    sampler = next(n for n in graph["nodes"] if n["type"] == "KSampler")
    assert sampler["widgets_values"][:3] == [prompt["3"]["inputs"]["seed"], "fixed", 3]


def test_a_diffusion_model_with_its_parts(backend, tmp_path):
    """Runs when the server has a FLUX.1 or SD3 diffusion model with its parts (slow on a CPU:
    one step at 64x64)."""
    flow = [m for m in backend.models() if m.usable and m.family in ("flux", "sd3")]
    if not flow:
        pytest.skip(f"the server at {URL} has no diffusion model with its parts")
    result = backend.generate(_request(flow[0].id, steps=1))
    path = save_result(result, tmp_path, HistoryStore(tmp_path / "h.sqlite"))[0].path
    graph = json.loads(Image.open(path).info["workflow"])
    assert "UNETLoader" in {n["type"] for n in graph["nodes"]}


@pytest.mark.skipif(
    not _server_up(SECOND_URL),
    reason=f"no second ComfyUI server at {SECOND_URL} (start one with its own COMFY_HOME)",
)
def test_two_servers_share_a_batch(model):
    both = ComfyBackend([ServerConfig(URL), ServerConfig(SECOND_URL)], timeout=30)
    try:
        result = both.generate(_request(model, steps=2, batch_size=4))
    finally:
        both.close()
    assert len(result.images) == 4
    assert set(result.workers) == {ServerConfig(URL).name, ServerConfig(SECOND_URL).name}
