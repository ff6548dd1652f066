"""The ComfyUI backend against the fake server: every mode, previews, batches, cancel, models."""

from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import GenerationCancelled, ModelError
from studio.core.request import GenerationRequest, Mode
from tests.remote.conftest import MODEL

REQUEST = GenerationRequest(prompt="a snail", model=MODEL, steps=4, seed=10, width=64, height=64)


def _run_in_thread(function):
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = function()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_features_say_remote_with_previews_and_no_latents(backend):
    assert backend.features.remote and backend.features.live_previews
    assert not backend.features.step_latents and not backend.features.local_models
    assert set(backend.features.modes) == set(Mode)


def test_models_lists_checkpoints_and_names_the_parts_a_diffusion_model_lacks(backend):
    models = {m.id: m for m in backend.models()}
    assert models[MODEL].usable and "PNDM" not in models[MODEL].samplers
    assert models["flux1-dev.safetensors"].problem == (
        "needs a CLIP-L text encoder (clip_l.safetensors) in models/text_encoders and "
        "a T5-XXL text encoder (t5xxl_*.safetensors) in models/text_encoders"
    )
    assert backend.load_model(MODEL).id == MODEL
    with pytest.raises(ModelError, match="'nope' is on none of the servers"):
        backend.load_model("nope")


def test_txt2img_reports_each_step_with_the_servers_preview(backend, fake):
    updates = []
    result = backend.generate(REQUEST, on_step=updates.append)

    assert [(u.step, u.total) for u in updates] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert all(u.preview is not None and u.preview.size == (512, 512) for u in updates)
    # each step's own frame: the fake paints step n with red 40n
    assert [round(u.preview.getpixel((5, 5))[0] / 40) for u in updates] == [1, 2, 3, 4]
    assert result.seeds == [10] and result.images[0].size == (64, 64)
    assert result.images[0].getpixel((0, 0))[0] == 10  # the fake paints red = seed
    body = fake.prompts[0]
    assert body["client_id"] and body["prompt"]["3"]["inputs"]["seed"] == 10
    assert json.loads(result.png_text[0]["prompt"]) == body["prompt"]
    assert result.workers == [fake.url.removeprefix("http://")]


def test_a_batch_is_one_job_per_seed(backend, fake):
    result = backend.generate(replace(REQUEST, batch_size=3))
    assert result.seeds == [10, 11, 12]
    assert [b["prompt"]["3"]["inputs"]["seed"] for b in fake.prompts] == [10, 11, 12]
    assert [image.getpixel((0, 0))[0] for image in result.images] == [10, 11, 12]


def test_img2img_and_inpaint_upload_their_inputs_at_the_jobs_size(
    backend, fake, picture, square_mask
):
    big = picture.resize((128, 128))
    backend.generate(
        GenerationRequest(prompt="x", model=MODEL, steps=2, mode=Mode.IMG2IMG, init_image=big)
    )
    image_name = fake.prompts[0]["prompt"]["10"]["inputs"]["image"]
    assert Image.open(io.BytesIO(fake.uploads[image_name])).size == (128, 128)

    backend.generate(
        GenerationRequest(
            prompt="x",
            model=MODEL,
            steps=2,
            mode=Mode.INPAINT,
            init_image=picture,
            mask=square_mask.convert("RGB"),
        )
    )
    workflow = fake.prompts[1]["prompt"]
    mask_png = fake.uploads[workflow["12"]["inputs"]["image"]]
    mask = np.asarray(Image.open(io.BytesIO(mask_png)))
    assert set(np.unique(mask)) == {0, 255} and mask[32, 32] == 255 and mask[0, 0] == 0
    assert workflow["10"]["inputs"]["image"] in fake.uploads


def test_an_input_of_any_size_is_padded_for_the_server_and_comes_back_at_its_size(
    backend, fake, picture, square_mask
):
    odd = picture.resize((100, 70))
    mask = square_mask.convert("L").resize((100, 70))
    result = backend.generate(
        GenerationRequest(
            prompt="x", model=MODEL, steps=2, mode=Mode.INPAINT, init_image=odd, mask=mask
        )
    )
    assert result.images[0].size == (100, 70)
    workflow = fake.prompts[0]["prompt"]
    sent = Image.open(io.BytesIO(fake.uploads[workflow["10"]["inputs"]["image"]]))
    sent_mask = np.asarray(Image.open(io.BytesIO(fake.uploads[workflow["12"]["inputs"]["image"]])))
    assert sent.size == (104, 72)  # up to the next multiple of 8, not stretched
    assert sent.crop((0, 0, 100, 70)).tobytes() == odd.tobytes()
    assert sent.getpixel((103, 71)) == odd.getpixel((99, 69))  # the edge repeated
    assert sent_mask.shape == (72, 104) and not sent_mask[70:, :].any()  # padding is kept


def test_the_same_input_is_uploaded_once_per_server(backend, fake, picture):
    request = GenerationRequest(
        prompt="x", model=MODEL, steps=1, mode=Mode.IMG2IMG, init_image=picture, batch_size=2
    )
    backend.generate(request)
    backend.generate(request)
    assert len(fake.uploads) == 1 and len(fake.prompts) == 4


def test_cancel_mid_run_interrupts_that_prompt(backend, fake):
    fake.scenario.hold_at_step = 2
    cancel = threading.Event()
    thread, outcome = _run_in_thread(lambda: backend.generate(REQUEST, cancel=cancel))
    _wait_for(lambda: fake.started)
    cancel.set()
    thread.join(10)
    assert isinstance(outcome.get("error"), GenerationCancelled)
    assert fake.interrupts == [{"prompt_id": fake.started[0]}]


def test_cancel_before_start_removes_the_job_from_the_queue(make_backend, fake):
    fake.scenario.hold_at_step = 1
    first, second = make_backend(fake), make_backend(fake)
    running, _ = _run_in_thread(lambda: first.generate(REQUEST))
    _wait_for(lambda: fake.started)
    cancel = threading.Event()
    waiting, outcome = _run_in_thread(lambda: second.generate(REQUEST, cancel=cancel))
    _wait_for(lambda: len(fake.prompts) == 2)
    cancel.set()
    waiting.join(10)
    assert isinstance(outcome.get("error"), GenerationCancelled)
    queued_id = fake.prompts[1]["prompt_id"]
    assert fake.deleted == [queued_id]
    fake.scenario.release.set()
    running.join(10)
    assert queued_id not in fake.started
