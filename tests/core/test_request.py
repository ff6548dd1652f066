"""GenerationRequest: a specific message for each bad input, and its dict form."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from PIL import Image

from studio.core.errors import RequestError, StudioError
from studio.core.request import MAX_BATCH, MAX_SEED, MAX_SIDE, GenerationRequest, Mode

GOOD = GenerationRequest(prompt="a snail", seed=1, width=512, height=512)


def _img2img(**changes) -> GenerationRequest:
    base = replace(GOOD, mode=Mode.IMG2IMG, init_image=Image.new("RGB", (512, 512)))
    return replace(base, **changes)


def _inpaint(**changes) -> GenerationRequest:
    base = _img2img(mode=Mode.INPAINT, mask=Image.new("L", (512, 512)))
    return replace(base, **changes)


@pytest.mark.parametrize("request_", [GOOD, _img2img(), _inpaint(), GenerationRequest(prompt="")])
def test_good_requests_pass(request_):
    request_.validate()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"width": 0}, "width must be positive, got 0"),
        ({"height": -8}, "height must be positive, got -8"),
        ({"width": MAX_SIDE + 8}, f"width must be at most {MAX_SIDE}, got {MAX_SIDE + 8}"),
        ({"batch_size": 0}, f"batch size must be between 1 and {MAX_BATCH}, got 0"),
        ({"batch_size": MAX_BATCH + 1}, f"batch size must be between 1 and {MAX_BATCH}, got 17"),
        ({"seed": -1}, f"seed must be between 0 and {MAX_SEED}, got -1"),
        ({"seed": MAX_SEED + 1}, f"seed must be between 0 and {MAX_SEED}, got {MAX_SEED + 1}"),
        ({"steps": 0}, "steps must be between 1 and 1000, got 0"),
        ({"true_cfg_scale": 0.5}, "true CFG scale must be between 1 and 50, got 0.5"),
        ({"guidance_scale": 51.0}, "guidance scale must be between 0 and 50, got 51.0"),
        ({"mask_feather": 65}, "mask feather must be between 0 and 64 pixels, got 65"),
        ({"model": ""}, "no model given"),
        ({"mode": "sketch"}, "unknown mode 'sketch'"),
    ],
)
def test_each_bad_input_has_its_own_message(changes, message):
    with pytest.raises(RequestError) as caught:
        replace(GOOD, **changes).validate()
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, StudioError)
    assert isinstance(caught.value, ValueError)


def test_edge_values_are_accepted():
    replace(GOOD, seed=0).validate()
    replace(GOOD, seed=MAX_SEED).validate()
    replace(GOOD, width=8, height=MAX_SIDE).validate()
    replace(GOOD, batch_size=MAX_BATCH).validate()
    _img2img(strength=1.0).validate()


@pytest.mark.parametrize("strength", [0.0, -0.1, 1.01, 2.0])
def test_strength_outside_0_to_1(strength):
    with pytest.raises(RequestError) as caught:
        _img2img(strength=strength).validate()
    assert str(caught.value) == f"strength must be above 0 and at most 1, got {strength}"


def test_strength_is_ignored_for_txt2img():
    replace(GOOD, strength=5.0).validate()


@pytest.mark.parametrize("mode", [Mode.IMG2IMG, Mode.INPAINT])
def test_init_image_required(mode):
    with pytest.raises(RequestError, match=f"^{mode.value} needs an input image$"):
        replace(GOOD, mode=mode, mask=Image.new("L", (512, 512))).validate()


def test_inpaint_without_mask():
    with pytest.raises(RequestError, match=r"^inpaint needs a mask \(white = repaint\)$"):
        _inpaint(mask=None).validate()


def test_mask_size_mismatch():
    with pytest.raises(RequestError, match=r"^mask is 256x512 but the input image is 512x512$"):
        _inpaint(mask=Image.new("L", (256, 512))).validate()


def test_to_dict_is_json_ready_and_round_trips():
    request = GenerationRequest(
        prompt='snail, "quoted": yes\nline 2 🐌',
        negative_prompt="blur",
        mode=Mode.INPAINT,
        model="my-model",
        scheduler="DPM++ 2M Karras",
        steps=33,
        guidance_scale=4.5,
        seed=MAX_SEED,
        width=640,
        height=384,
        strength=0.4,
        init_image=Image.new("RGB", (640, 384)),
        mask=Image.new("L", (640, 384)),
        mask_feather=12,
        batch_size=4,
    )
    data = json.loads(json.dumps(request.to_dict()))
    assert data["mode"] == "inpaint"
    assert data["init_image"] == {"width": 640, "height": 384, "mode": "RGB"}
    assert data["mask"] == {"width": 640, "height": 384, "mode": "L"}
    back = GenerationRequest.from_dict(data)
    assert back == request  # images are not compared ...
    assert back.mode is Mode.INPAINT
    assert back.init_image is None  # ... and not carried
    assert back.mask is None


def test_from_dict_ignores_unknown_keys_and_fills_defaults():
    back = GenerationRequest.from_dict({"prompt": "x", "future_field": 1})
    assert back == GenerationRequest(prompt="x")


def test_from_dict_rejects_an_unknown_mode():
    with pytest.raises(RequestError, match="unknown mode 'sketch'"):
        GenerationRequest.from_dict({"prompt": "x", "mode": "sketch"})


def test_size_property():
    assert GOOD.size == (512, 512)
    assert replace(GOOD, height=None).size is None
