"""The `parameters` text both ways, foreign texts, and the PNG chunks we write."""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from studio import __version__
from studio.core.errors import ImageError, StudioError
from studio.core.metadata import (
    format_parameters,
    normalize_scheduler,
    parse_parameters,
    read_png_request,
    request_from_parameters,
    save_png,
)
from studio.core.request import DEFAULT_SCHEDULER, GenerationRequest, Mode
from studio.core.schedulers import SCHEDULER_NAMES

# --- an independent model of the webui 1.10 reader, from platform-facts.md ---------------------

WEBUI_SAMPLERS = {
    "DPM++ 2M", "DPM++ SDE", "DPM++ 2M SDE", "DPM++ 2M SDE Heun", "DPM++ 2S a", "DPM++ 3M SDE",
    "Euler a", "Euler", "LMS", "Heun", "DPM2", "DPM2 a", "DPM fast", "DPM adaptive", "Restart",
    "DDIM", "DDIM CFG++", "PLMS", "UniPC", "LCM",
}  # fmt: skip
WEBUI_SCHEDULES = {
    "Automatic", "Uniform", "Karras", "Exponential", "Polyexponential", "SGM Uniform",
    "KL Optimal", "Align Your Steps", "Simple", "Normal", "DDIM", "Beta",
}  # fmt: skip
_WEBUI_PAIR = re.compile(r'\s*([A-Za-z0-9_][A-Za-z0-9_ /-]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def webui_read(text: str) -> dict[str, str]:
    """What the webui gets from a `parameters` text: Prompt, Negative prompt, Key-1/Key-2, ..."""
    *lines, last = text.strip().split("\n")
    pairs = _WEBUI_PAIR.findall(last)
    if len(pairs) < 3:
        lines, pairs = [*lines, last], []
    prompt: list[str] = []
    negative: list[str] = []
    target = prompt
    for line in (raw.strip() for raw in lines):
        if line.startswith("Negative prompt:"):
            target, line = negative, line[len("Negative prompt:") :].strip()
        if target or line:
            target.append(line)
    result = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in pairs:
        if not value:
            continue  # an empty value breaks the pair
        if value[0] == value[-1] == '"':
            value = json.loads(value)
        size = re.fullmatch(r"(\d+)x(\d+)", value)
        if size:
            result[f"{key}-1"], result[f"{key}-2"] = size[1], size[2]
        else:
            result[key] = value
    return result


def _with_images(request: GenerationRequest) -> GenerationRequest:
    size = (request.width or 64, request.height or 64)
    return replace(request, init_image=Image.new("RGB", size), mask=Image.new("L", size))


# --- writing ---------------------------------------------------------------------------------

BASE = GenerationRequest(
    prompt="a snail on a leaf",
    negative_prompt="blurry",
    scheduler="DPM++ 2M Karras",
    steps=25,
    guidance_scale=7.0,
    width=512,
    height=768,
)


def test_format_writes_the_webui_layout_exactly():
    text = format_parameters(BASE, seed=965400086, model_name="snail-mini", model_hash="45dee52b")
    assert text == (
        "a snail on a leaf\n"
        "Negative prompt: blurry\n"
        "Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 965400086, "
        "Size: 512x768, Model hash: 45dee52b, Model: snail-mini, "
        f"Version: snail-studio {__version__}"
    )


@pytest.mark.parametrize("negative", ["", "   "])
def test_negative_line_is_left_out_when_empty(negative):
    request = GenerationRequest(prompt="cat", negative_prompt=negative, width=64, height=64)
    text = format_parameters(request, 1, "m")
    assert "Negative prompt" not in text
    assert text.startswith("cat\nSteps: 20,")


def test_model_hash_and_size_only_when_known():
    request = GenerationRequest(prompt="cat")  # size not resolved
    text = format_parameters(request, 1, "m")
    assert "Model hash" not in text
    assert "Size" not in text
    assert request_from_parameters(text).size is None


@pytest.mark.parametrize(
    ("scheduler", "sampler", "schedule"),
    [
        ("DPM++ 2M Karras", "DPM++ 2M", "Karras"),
        # the webui runs plain DPM++ 2M with Karras unless told otherwise
        ("DPM++ 2M", "DPM++ 2M", "Uniform"),
        ("PNDM", "PLMS", None),
        ("Euler a", "Euler a", None),
        ("Euler", "Euler", None),
        ("DDIM", "DDIM", None),
        ("UniPC", "UniPC", None),
        ("LMS", "LMS", None),
        ("DDPM", "DDPM", None),
    ],
)
def test_sampler_and_schedule_type_as_the_webui_names_them(scheduler, sampler, schedule):
    request = GenerationRequest(prompt="x", scheduler=scheduler, width=64, height=64)
    read = webui_read(format_parameters(request, 1, "m"))
    assert read["Sampler"] == sampler
    assert read.get("Schedule type") == schedule


def test_every_studio_scheduler_is_known_to_the_webui_or_is_ddpm():
    # A new entry in SCHEDULER_NAMES needs a webui name, or the webui silently swaps it.
    for name in SCHEDULER_NAMES:
        request = GenerationRequest(prompt="x", scheduler=name, width=64, height=64)
        read = webui_read(format_parameters(request, 1, "m"))
        assert read["Sampler"] in WEBUI_SAMPLERS | {"DDPM"}, name
        assert read.get("Schedule type", "Automatic") in WEBUI_SCHEDULES, name


@pytest.mark.parametrize("scheduler", SCHEDULER_NAMES)
def test_each_scheduler_round_trips(scheduler):
    request = GenerationRequest(prompt="x", scheduler=scheduler, width=64, height=64)
    assert request_from_parameters(format_parameters(request, 1, "m")).scheduler == scheduler


def test_version_is_not_a_bare_number():
    # A numeric version below 1.6 switches on the webui's old-behaviour flags.
    version = webui_read(format_parameters(BASE, 1, "m"))["Version"]
    assert version == f"snail-studio {__version__}"
    assert not re.fullmatch(r"v?[\d.]+", version)


@pytest.mark.parametrize(
    ("mode", "has_strength", "has_blur"),
    [(Mode.TXT2IMG, False, False), (Mode.IMG2IMG, True, False), (Mode.INPAINT, True, True)],
)
def test_mode_specific_settings(mode, has_strength, has_blur):
    request = GenerationRequest(
        prompt="x", mode=mode, strength=0.45, mask_feather=9, width=64, height=64
    )
    read = webui_read(format_parameters(request, 1, "m"))
    assert ("Denoising strength" in read) is has_strength
    assert ("Mask blur" in read) is has_blur
    back = request_from_parameters(format_parameters(request, 1, "m"))
    assert back.mode is Mode.TXT2IMG  # the webui text carries no mode
    if has_strength:
        assert read["Denoising strength"] == "0.45"
        assert back.strength == 0.45
    if has_blur:
        assert read["Mask blur"] == "9"
        assert back.mask_feather == 9


@pytest.mark.parametrize(
    "model_name",
    ["plain", "", "name, with comma", "v2: final", '"quoted" model', " padded ", "line\nbreak"],
)
def test_awkward_model_names_survive_both_readers(model_name):
    text = format_parameters(BASE, 7, model_name)
    assert webui_read(text)["Model"] == model_name
    assert parse_parameters(text)[2]["Model"] == model_name


TRICKY_PROMPTS = [
    "a cat, sitting, on a mat",
    'the "best" cat: 1.2, (detailed:1.3)',
    "line one\nline two\n\nline four after a blank",
    "ünïcödé 猫 🐌, ½ price",
    # its last line looks like settings; ours come after it, so it stays prompt
    "a cat\nSteps: 5, Sampler: Euler, Seed: 3",
    "Steps: 1, Sampler: DDIM, CFG scale: 2, Seed: 4",
    "{not: json}",
    "",
]


@pytest.mark.parametrize("prompt", TRICKY_PROMPTS)
@pytest.mark.parametrize("negative", ["", "ugly, blurry: 2\nsecond line", "Ünïcode 否"])
def test_tricky_prompts_round_trip_through_both_readers(prompt, negative):
    request = GenerationRequest(
        prompt=prompt,
        negative_prompt=negative,
        model="my-model",
        scheduler="Euler a",
        steps=31,
        guidance_scale=6.5,
        width=640,
        height=448,
    )
    text = format_parameters(request, 4294967295, "my-model", "abcdef0123")

    back = request_from_parameters(text)
    assert back == replace(request, seed=4294967295)

    read = webui_read(text)
    assert read["Prompt"] == prompt
    assert read["Negative prompt"] == negative
    assert read["Steps"] == "31"
    assert read["CFG scale"] == "6.5"
    assert read["Seed"] == "4294967295"
    assert (read["Size-1"], read["Size-2"]) == ("640", "448")
    assert read["Model hash"] == "abcdef0123"
    assert read["Model"] == "my-model"


def test_webui_strips_prompt_lines_and_so_do_we():
    # Known loss of the text format (our own chunk keeps the exact prompt).
    request = GenerationRequest(prompt="  padded  \n indented", width=64, height=64)
    text = format_parameters(request, 1, "m")
    assert webui_read(text)["Prompt"] == "padded\nindented"
    assert request_from_parameters(text).prompt == "padded\nindented"


# --- foreign texts ---------------------------------------------------------------------------

A1111_TEXT = (
    "masterpiece, best quality, 1girl, (red hair:1.2), looking at viewer\n"
    "<lora:add_detail:0.5>, detailed background\n"
    "Negative prompt: (worst quality, low quality:1.4), easynegative\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3405691582, "
    "Size: 512x768, Model hash: 7f96a1a9ca, Model: anything-v5-PrtRE, Denoising strength: 0.45, "
    "Clip skip: 2, ADetailer model: face_yolov8n.pt, "
    'ADetailer prompt: "detailed face, blue eyes", '
    "ADetailer confidence: 0.3, ADetailer dilate erode: 4, ADetailer mask blur: 4, "
    "ADetailer denoising strength: 0.4, ADetailer inpaint only masked: True, "
    "ADetailer inpaint padding: 32, ADetailer version: 24.9.0, Hires upscale: 2, Hires steps: 15, "
    'Hires upscaler: R-ESRGAN 4x+ Anime6B, Lora hashes: "add_detail: 7c6bad76eb54", '
    'TI hashes: "easynegative: c74b4e810b03", Version: v1.10.1'
)


def test_parses_a_webui_1_10_text_with_hires_and_adetailer():
    prompt, negative, settings = parse_parameters(A1111_TEXT)
    assert prompt == (
        "masterpiece, best quality, 1girl, (red hair:1.2), looking at viewer\n"
        "<lora:add_detail:0.5>, detailed background"
    )
    assert negative == "(worst quality, low quality:1.4), easynegative"
    assert settings["ADetailer prompt"] == "detailed face, blue eyes"
    assert settings["Lora hashes"] == "add_detail: 7c6bad76eb54"
    assert settings["Hires upscaler"] == "R-ESRGAN 4x+ Anime6B"
    assert settings["Size"] == "512x768"
    assert settings["Version"] == "v1.10.1"
    # The same pairs the webui finds (it splits Size into Size-1/Size-2).
    webui = webui_read(A1111_TEXT)
    assert settings.keys() == webui.keys() - {"Prompt", "Negative prompt", "Size-1", "Size-2"} | {
        "Size"
    }
    assert len(settings) == 25

    request = request_from_parameters(A1111_TEXT)
    assert request.prompt == prompt
    assert request.negative_prompt == negative
    assert request.scheduler == "DPM++ 2M Karras"
    assert (request.steps, request.guidance_scale, request.seed) == (28, 6.5, 3405691582)
    assert request.size == (512, 768)
    assert request.model == "anything-v5-PrtRE"
    assert request.strength == 0.45
    assert request.mode is Mode.TXT2IMG  # hires fix writes Denoising strength in txt2img too


def test_old_webui_sampler_name_with_karras_in_it():
    text = "cat\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1, Size: 512x512"
    assert request_from_parameters(text).scheduler == "DPM++ 2M Karras"


FOOOCUS_JSON = json.dumps(
    {
        "Prompt": "a red fox in snow, cinematic",
        "Negative Prompt": "lowres, watermark",
        "Fooocus V2 Expansion": "a red fox in snow, cinematic, intricate",
        "Styles": "['Fooocus V2', 'Fooocus Enhance']",
        "Performance": "Speed",
        "Resolution": "(1024, 1024)",
        "Sharpness": 2,
        "Guidance Scale": 4,
        "ADM Guidance": "(1.5, 0.8, 0.3)",
        "Base Model": "juggernautXL_v8Rundiffusion.safetensors",
        "Refiner Model": "None",
        "Sampler": "dpmpp_2m",
        "Scheduler": "karras",
        "Seed": 2718281828,
        "Steps": 30,
        "Version": "Fooocus v2.1.865",
    }
)


def test_parses_fooocus_json():
    prompt, negative, settings = parse_parameters(FOOOCUS_JSON)
    assert prompt == "a red fox in snow, cinematic"
    assert negative == "lowres, watermark"
    assert settings["Size"] == "1024x1024"
    assert settings["Sampler"] == "dpmpp_2m"
    assert settings["Schedule type"] == "karras"
    assert settings["CFG scale"] == "4"
    assert settings["performance"] == "Speed"  # unknown keys kept

    request = request_from_parameters(FOOOCUS_JSON)
    assert request.scheduler == "DPM++ 2M Karras"
    assert (request.steps, request.guidance_scale, request.seed) == (30, 4.0, 2718281828)
    assert request.size == (1024, 1024)
    assert request.model == "juggernautXL_v8Rundiffusion.safetensors"
    assert request.mode is Mode.TXT2IMG


def test_newer_fooocus_lowercase_json_and_huge_seed():
    text = json.dumps(
        {
            "prompt": "fox",
            "negative_prompt": "",
            "resolution": [896, 1152],
            "guidance_scale": 4.5,
            "sampler": "dpmpp_2m_sde_gpu",  # we have no such sampler
            "scheduler": "karras",
            "seed": "9223372036854775807",
            "base_model": "sdxl",
            "steps": 60,
        }
    )
    request = request_from_parameters(text)
    assert request.scheduler == DEFAULT_SCHEDULER
    assert request.size == (896, 1152)
    assert request.seed == 9223372036854775807  # exact: never through a float
    assert request.guidance_scale == 4.5


KRITA_TEXT = (
    "a cozy cabin in a snowy forest, warm light\n"
    "Negative prompt: blurry, text\n"
    "Steps: 24, Sampler: dpmpp_2m, Schedule type: karras, CFG scale: 5.5, Seed: 1234, "
    "Size: 1024x768, Model: juggernautXL_v9.safetensors, Denoising strength: 0.6"
)


@pytest.mark.parametrize(
    ("sampler", "schedule", "expected"),
    [
        ("euler_ancestral", "normal", "Euler a"),
        ("euler", "simple", "Euler"),
        ("dpmpp_2m", "karras", "DPM++ 2M Karras"),
        ("dpmpp_2m", "normal", "DPM++ 2M"),
        ("dpmpp_2m karras", None, "DPM++ 2M Karras"),
        ("euler_ancestral normal", None, "Euler a"),
        ("uni_pc_bh2", "sgm_uniform", "UniPC"),
        ("ddim", "ddim_uniform", "DDIM"),
        ("lms", None, "LMS"),
        ("ddpm", None, "DDPM"),
        ("k_euler_a", None, "Euler a"),
        ("k_dpmpp_2m_ka", None, "DPM++ 2M Karras"),
        ("euler_a", None, "Euler a"),  # InvokeAI
        ("dpmpp_2m_k", None, "DPM++ 2M Karras"),  # InvokeAI
        ("PLMS", None, "PNDM"),
        ("DPM++ 2M", "Automatic", "DPM++ 2M Karras"),  # the webui 1.10's automatic choice
        ("DPM++ 2M", None, "DPM++ 2M"),  # older webui: Karras was in the name
        ("DPM++ 2M", "Exponential", "DPM++ 2M"),
        ("EulerAncestralDiscreteScheduler", None, "Euler a"),
        ("dpmpp_3m_sde_gpu", "exponential", DEFAULT_SCHEDULER),
        ("heun", "karras", DEFAULT_SCHEDULER),
        ("", None, DEFAULT_SCHEDULER),
        (None, None, DEFAULT_SCHEDULER),
    ],
)
def test_normalize_scheduler(sampler, schedule, expected):
    assert normalize_scheduler(sampler, schedule) == expected


def test_parses_a_krita_comfyui_style_text_with_lowercase_names():
    request = request_from_parameters(KRITA_TEXT)
    assert request.prompt == "a cozy cabin in a snowy forest, warm light"
    assert request.negative_prompt == "blurry, text"
    assert request.scheduler == "DPM++ 2M Karras"
    assert (request.steps, request.guidance_scale, request.seed) == (24, 5.5, 1234)
    assert request.size == (1024, 768)
    assert request.model == "juggernautXL_v9.safetensors"
    assert request.strength == 0.6


def test_unreadable_values_keep_defaults_like_the_webui():
    text = "cat\nSteps: many, Sampler: Euler, CFG scale: high, Seed: -, Size: big, Model: m"
    request = request_from_parameters(text)
    defaults = GenerationRequest(prompt="cat")
    assert request.steps == defaults.steps
    assert request.guidance_scale == defaults.guidance_scale
    assert request.seed is None
    assert request.size is None
    assert request.scheduler == "Euler"


def test_our_own_json_keeps_the_mode():
    request = GenerationRequest(
        prompt="x", mode=Mode.INPAINT, scheduler="LMS", seed=5, width=64, height=64, strength=0.3
    )
    back = request_from_parameters(json.dumps(request.to_dict()))
    assert back == request
    assert back.mode is Mode.INPAINT


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   \n  ",
        "just a prompt with no settings line",
        "cat\nSteps: 20, Seed: 3",  # two pairs are not a settings line
        "\x00\x89PNG\r\n\x1a\n\xff\xfe",
        "[1, 2, 3]",
        '{"3": {"inputs": {"seed": 1, "steps": 20}, "class_type": "KSampler"}}',  # a ComfyUI graph
        "{broken json",
    ],
)
def test_junk_raises_one_line_image_error(junk):
    with pytest.raises(ImageError, match=r"^no generation parameters found$"):
        request_from_parameters(junk)


def test_parse_is_lenient_about_plain_text():
    assert parse_parameters("just a prompt") == ("just a prompt", "", {})
    assert parse_parameters("") == ("", "", {})


# --- PNG files -------------------------------------------------------------------------------


def _chunks(path: Path) -> list[tuple[bytes, bytes]]:
    """The raw (type, data) chunks of a PNG, checking each CRC."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        pos += 12 + length
    return chunks


def _text_chunk(chunks: list[tuple[bytes, bytes]], key: str) -> tuple[int, bytes, str]:
    for index, (kind, body) in enumerate(chunks):
        if kind == b"tEXt" and body.startswith(key.encode() + b"\0"):
            return index, kind, body.split(b"\0", 1)[1].decode("latin-1")
        if kind == b"iTXt" and body.startswith(key.encode() + b"\0"):
            # keyword\0 compression-flag compression-method language\0 translated\0 text
            rest = body.split(b"\0", 1)[1]
            assert rest[0] == 0, "uncompressed"
            _lang, _translated, text = rest[2:].split(b"\0", 2)
            return index, kind, text.decode("utf-8")
    raise AssertionError(f"no {key} chunk")


def test_parameters_chunk_comes_before_the_image_data(tmp_path):
    request = GenerationRequest(prompt="a cat", width=32, height=32)
    path = save_png(Image.new("RGB", (32, 32), "red"), tmp_path / "a.png", request, 42, "m")
    chunks = _chunks(path)
    kinds = [kind for kind, _ in chunks]
    first_idat = kinds.index(b"IDAT")
    index, kind, text = _text_chunk(chunks, "parameters")
    assert kind == b"tEXt"
    assert index < first_idat
    assert text == format_parameters(request, 42, "m")
    studio_index, _, studio = _text_chunk(chunks, "snail_studio")
    assert studio_index < first_idat
    assert json.loads(studio)["seed"] == 42
    assert b"eXIf" not in kinds  # an EXIF UserComment would shadow `parameters` in the webui


def test_non_latin1_text_goes_in_itxt(tmp_path):
    request = GenerationRequest(prompt="猫 🐌", negative_prompt="ぼやけ", width=32, height=32)
    path = save_png(Image.new("RGB", (32, 32)), tmp_path / "u.png", request, 1, "モデル")
    chunks = _chunks(path)
    _, kind, text = _text_chunk(chunks, "parameters")
    assert kind == b"iTXt"
    assert webui_read(text)["Prompt"] == "猫 🐌"
    assert webui_read(text)["Model"] == "モデル"


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("scheduler", SCHEDULER_NAMES)
def test_png_round_trip_is_exact(tmp_path, mode, scheduler):
    request = _with_images(
        GenerationRequest(
            prompt='  padded, "quoted": x\nNegative prompt: inside the prompt\n🐌 ',
            negative_prompt="",
            mode=mode,
            model="snail-mini",
            scheduler=scheduler,
            steps=3,
            guidance_scale=1.25,
            seed=None,
            width=32,
            height=40,
            strength=0.3,
            mask_feather=7,
            batch_size=3,
        )
    )
    path = save_png(Image.new("RGB", (32, 40)), tmp_path / "r.png", request, 123, "Snail Mini")
    back = read_png_request(path)
    # Everything but the images, and with the image's own seed.
    assert back == replace(request, seed=123)
    assert back.mode is mode
    assert back.init_image is None


def test_falls_back_to_parameters_without_our_chunk(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_TEXT)
    path = tmp_path / "webui.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert read_png_request(path) == request_from_parameters(A1111_TEXT)


def test_damaged_own_chunk_falls_back_to_parameters(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", KRITA_TEXT)
    damaged = {"prompt": "x", "mode": "txt2img", "steps": "lots", "scheduler": "DDIM"}
    info.add_text("snail_studio", json.dumps({**damaged, "guidance_scale": 1}))
    path = tmp_path / "damaged.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert read_png_request(path).prompt == "a cozy cabin in a snowy forest, warm light"


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "out" / "img.png"
    target.parent.mkdir()
    target.write_bytes(b"old")
    save_png(Image.new("RGB", (8, 8)), target, GenerationRequest(prompt="x"), 1, "m")
    assert [p.name for p in target.parent.iterdir()] == ["img.png"]
    with Image.open(target) as image:
        assert image.size == (8, 8)


def test_failed_save_keeps_the_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "img.png"
    target.write_bytes(b"old")
    broken = Image.new("RGB", (8, 8))
    broken.save = None  # calling it raises TypeError, as a failing encoder would
    with pytest.raises(TypeError):
        save_png(broken, target, GenerationRequest(prompt="x"), 1, "m")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["img.png"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.png", None, r"^cannot read missing\.png: "),
        ("text.png", b"not an image at all", r"^cannot read text\.png: "),
        ("truncated.png", b"\x89PNG\r\n\x1a\n\x00\x00", r"^cannot read truncated\.png: "),
    ],
)
def test_unreadable_files_give_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as caught:
        read_png_request(path)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, StudioError)


def test_png_without_parameters(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(ImageError, match=r"^no generation parameters found in plain\.png$"):
        read_png_request(path)


def test_png_with_junk_parameters(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "hello")
    path = tmp_path / "junk.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    with pytest.raises(ImageError, match=r"^no generation parameters found in junk\.png$"):
        read_png_request(path)


def test_empty_unquoted_value_breaks_the_pair_like_the_webui():
    _, _, settings = parse_parameters('x\nSteps: 20, Model: , Sampler: Euler, Seed: 1, Size: ""')
    assert "Model" not in settings
    assert settings["Size"] == ""  # quoted empty is a real empty value
    assert settings["Sampler"] == "Euler"


def test_own_chunk_from_a_newer_version_is_still_preferred(tmp_path):
    request = GenerationRequest(prompt="exact  prompt ", mode=Mode.IMG2IMG, width=8, height=8)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", KRITA_TEXT)
    info.add_text("snail_studio", json.dumps({**request.to_dict(), "a_future_field": 1}))
    path = tmp_path / "newer.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert read_png_request(path) == request
