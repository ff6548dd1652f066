from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from studio.cli import main
from studio.core.history import HistoryStore
from studio.core.metadata import read_png_request
from studio.core.paths import AppPaths
from studio.core.request import Mode
from studio.engine.previews import PREVIEW_FILE
from tests.tiny_pipeline import save_tiny_pipeline
from tests.tiny_single_files import write_bad_files


@pytest.fixture
def run(tiny_model_dir, capsys):
    """Run the CLI in-process with the tiny model's folder; returns (status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        status = main([*args[:1], "--model-dir", str(tiny_model_dir), *args[1:]])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def generate(run, *extra: str) -> tuple[int, str, str]:
    return run("generate", "--model", "tiny", "--steps", "2", "--seed", "11", *extra)


def test_generate_writes_a_png_whose_parameters_parse_back(run, tmp_path):
    out = tmp_path / "cat.png"
    status, stdout, _ = generate(
        run,
        "--prompt",
        "a cat, sitting: on a mat",
        "--negative-prompt",
        "blurry",
        "--guidance",
        "6.5",
        "--scheduler",
        "Euler a",
        "--width",
        "64",
        "--height",
        "96",
        "--out",
        str(out),
    )
    assert status == 0
    assert stdout.strip() == str(out)
    request = read_png_request(out)
    assert request.prompt == "a cat, sitting: on a mat"
    assert request.negative_prompt == "blurry"
    assert (request.seed, request.steps, request.guidance_scale) == (11, 2, 6.5)
    assert (request.scheduler, request.width, request.height, request.model) == (
        "Euler a",
        64,
        96,
        "tiny",
    )
    assert Image.open(out).size == (64, 96)


def test_parameters_chunk_alone_also_parses_back(run, tmp_path):
    from studio.core.metadata import request_from_parameters

    out = tmp_path / "a.png"
    generate(run, "--prompt", "a dog", "--out", str(out))
    request = request_from_parameters(Image.open(out).text["parameters"])
    assert (request.prompt, request.seed, request.steps, request.width) == ("a dog", 11, 2, 64)


def test_the_same_seed_twice_gives_identical_pixels(run, tmp_path):
    generate(run, "--prompt", "x", "--out", str(tmp_path / "1.png"))
    generate(run, "--prompt", "x", "--out", str(tmp_path / "2.png"))
    first, second = (np.asarray(Image.open(tmp_path / n)) for n in ("1.png", "2.png"))
    assert np.array_equal(first, second)


def test_a_batch_goes_to_the_outputs_folder_and_into_history(run):
    status, stdout, _ = generate(run, "--prompt", "x", "--batch", "2")
    paths = stdout.split()
    assert status == 0 and len(paths) == 2
    outputs = AppPaths.from_environment().outputs_dir
    assert all(p.startswith(str(outputs)) for p in paths)
    entries = HistoryStore(AppPaths.from_environment().history_db).entries()
    assert sorted(str(e.path) for e in entries) == sorted(paths)
    assert sorted(e.seed for e in entries) == [11, 12]


def test_inpaint_from_the_command_line_keeps_pixels_outside_the_mask(run, tmp_path):
    init = tmp_path / "in.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(init)
    mask = tmp_path / "mask.png"
    mask_image = Image.new("L", (64, 64))
    mask_image.paste(255, (0, 0, 32, 64))
    mask_image.save(mask)
    out = tmp_path / "out.png"
    status, _, err = generate(
        run,
        "--prompt",
        "x",
        "--mode",
        "inpaint",
        "--init-image",
        str(init),
        "--mask",
        str(mask),
        "--strength",
        "1",
        "--out",
        str(out),
    )
    assert status == 0, err
    pixels = np.asarray(Image.open(out))
    assert (pixels[:, 32:] == (200, 30, 30)).all()
    assert read_png_request(out).mode is Mode.INPAINT


def test_models_lists_id_family_format_and_path(run, tiny_model_dir):
    status, stdout, _ = run("models")
    assert status == 0
    header, *lines = stdout.splitlines()
    row = next(line for line in lines if line.startswith("tiny "))
    assert "SD 1.5" in row and "diffusers" in row and str(tiny_model_dir / "tiny") in row
    # Every column, PATH included, starts where its header does, after at least two spaces.
    assert header.split()[:6] == ["ID", "FAMILY", "FORMAT", "SIZE", "MEMORY", "PATH"]
    at = header.index("PATH")
    assert row[at - 2 : at] == "  " and row[at:] == str(tiny_model_dir / "tiny")


def one_line_error(run, *args: str) -> str:
    status, stdout, stderr = run(*args)
    assert status == 2
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_missing_model_exits_2_with_one_line(run):
    line = one_line_error(run, "generate", "--prompt", "x", "--model", "nowhere")
    assert "unknown model 'nowhere'" in line


def test_broken_model_file_exits_2_with_one_line(run, tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir / "tiny", broken)
    (broken / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"\0" * 100)
    line = one_line_error(run, "generate", "--prompt", "x", "--model", str(broken), "--steps", "1")
    assert "cannot load model 'broken'" in line
    # diffusers names the file twice, with its full path; the line says it once, in the model
    assert line.count("diffusion_pytorch_model.safetensors") == 1
    assert str(broken) not in line


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("empty", "empty.safetensors: empty or truncated file (0 bytes)"),
        ("random", "random.safetensors: not a safetensors file (no valid header)"),
        ("truncated", "truncated.safetensors: truncated file"),
        ("pickle", "evil.ckpt: this pickle holds code, which the studio never runs"),
        ("unknown", "unknown.safetensors: an unknown architecture"),
        ("lora", "style-lora.safetensors: a LoRA, not a model"),
        ("vae", "vae-ft-mse.safetensors: a VAE on its own, not a model"),
        ("text_encoder", "clip_l.safetensors: a text encoder (clip_l) on its own, not a model"),
        ("controlnet", "control_canny.safetensors: a ControlNet, not a model"),
    ],
)
def test_what_is_not_a_model_gets_one_line_from_inspect_and_generate(
    run, capsys, tmp_path, kind, says
):
    path = write_bad_files(tmp_path)[kind]
    assert says in one_line_error(run, "generate", "--prompt", "x", "--model", str(path))

    def inspect(*args):
        status = main(["inspect", *args])
        return (status, *capsys.readouterr())

    assert says in one_line_error(inspect, str(path))


def test_unreadable_image_exits_2_with_one_line(run, tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_text("this is not an image")
    line = one_line_error(
        run,
        "generate",
        "--prompt",
        "x",
        "--model",
        "tiny",
        "--mode",
        "img2img",
        "--init-image",
        str(junk),
    )
    assert "cannot read input image" in line and "junk.png" in line


def test_missing_image_exits_2_with_one_line(run, tmp_path):
    line = one_line_error(
        run,
        "generate",
        "--prompt",
        "x",
        "--mode",
        "img2img",
        "--init-image",
        str(tmp_path / "none.png"),
    )
    assert "input image not found" in line


def test_bad_size_exits_2_with_one_line_before_the_model_loads(run, monkeypatch):
    from studio.engine import Engine

    loads = []
    monkeypatch.setattr(Engine, "load_model", lambda self, *args: loads.append(args))
    line = one_line_error(run, "generate", "--prompt", "x", "--model", "tiny", "--width", "65")
    assert "width must be a multiple of 8 for SD 1.5, got 65" in line
    assert loads == []  # refused from what the model is, not after loading it


def test_mask_of_the_wrong_size_exits_2_with_one_line(run, tmp_path):
    Image.new("RGB", (64, 64)).save(tmp_path / "in.png")
    Image.new("L", (32, 32)).save(tmp_path / "mask.png")
    line = one_line_error(
        run,
        "generate",
        "--prompt",
        "x",
        "--model",
        "tiny",
        "--mode",
        "inpaint",
        "--init-image",
        str(tmp_path / "in.png"),
        "--mask",
        str(tmp_path / "mask.png"),
    )
    assert "mask is 32x32 but the input image is 64x64" in line


def test_guidance_defaults_to_the_models_recommendation_else_the_settings(run, tmp_path):
    tuned = tmp_path / "models" / "tuned"
    save_tiny_pipeline(tuned)
    (tuned / PREVIEW_FILE).write_text(json.dumps({"defaults": {"guidance_scale": 3.5}}))
    for model, guidance in (("tuned", 3.5), ("tiny", 7.5)):
        out = tmp_path / f"{model}.png"
        status, _, _ = generate(
            run,
            "--model",
            model,
            "--model-dir",
            str(tuned.parent),
            "--prompt",
            "x",
            "--out",
            str(out),
        )
        assert status == 0
        assert read_png_request(out).guidance_scale == guidance
