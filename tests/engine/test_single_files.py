"""Users' single files, in their original key layouts, through the same code as theirs:
identified from the header, completed from the model tree, loaded offline, generating."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import FluxPipeline
from PIL import Image

from studio.core.errors import ModelError
from studio.core.request import GenerationRequest, Mode
from studio.engine import Engine, ModelLibrary
from studio.engine.devices import Placement
from studio.engine.families import base
from studio.engine.families.flux import Flux
from studio.engine.families.parts import load_part
from studio.engine.library import identify
from tests.checkpoints.files import write_single_file
from tests.tiny_single_files import build_tree, write_bad_files


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return build_tree(tmp_path_factory.mktemp("single-files"))


@pytest.fixture(autouse=True)
def tiny_configs(tree, monkeypatch):
    """The tiny files' configs stand where the bundled full-size ones do for real files."""
    monkeypatch.setattr(base, "CONFIGS", tree[1])


@pytest.fixture(scope="module")
def file_engine(tree, tmp_path_factory):
    library = ModelLibrary([tree[0]], embedded_dir=tmp_path_factory.mktemp("none"))
    return Engine(library, Placement.choose("fp32", "cpu"))


def generate(engine, model, **changes):
    request = GenerationRequest(prompt="a red circle", model=model, steps=2, seed=3, **changes)
    return np.asarray(engine.generate(request).images[0], dtype=np.int16)


def test_each_file_is_known_by_family_and_variant_from_its_header(file_engine):
    models = {m.id: m for m in file_engine.models()}
    found = {m: (i.family_label, i.variant, i.format) for m, i in models.items()}
    assert found == {
        "tiny-sd15": ("SD 1.5", "v1", "safetensors"),
        "tiny-sd15-inpainting": ("SD 1.5 inpainting", "inpainting", "safetensors"),
        "tiny-sdxl": ("SDXL", "xl_base", "safetensors"),
        "tiny-flux1-dev": ("FLUX.1 dev", "flux-dev", "safetensors"),
    }  # the text encoders and the VAE beside them are components, not models
    flux = models["tiny-flux1-dev"]
    assert {name: path.rsplit("/", 2)[-2:] for name, path in flux.components} == {
        "text_encoder": ["text_encoders", "clip_l.safetensors"],
        "text_encoder_2": ["text_encoders", "t5xxl_fp16.safetensors"],
        "vae": ["vae", "ae.safetensors"],
    }
    assert all(m.usable for m in models.values())


@pytest.mark.parametrize(
    ("file_id", "folder"),
    [("tiny-sd15", "v1"), ("tiny-sd15-inpainting", "inpainting"), ("tiny-sdxl", "xl_base")],
)  # fmt: skip
def test_a_single_file_draws_what_the_same_weights_draw_from_a_folder(
    file_engine, tree, file_id, folder
):
    scheduler = "Euler"
    from_file = generate(file_engine, file_id, scheduler=scheduler)
    from_folder = generate(file_engine, str(tree[2] / folder), scheduler=scheduler)
    assert np.abs(from_file - from_folder).max() <= 2


@pytest.mark.parametrize("file_id", ["tiny-sd15", "tiny-sdxl"])
def test_single_files_inpaint_and_keep_what_is_outside_the_mask(file_engine, file_id):
    image = Image.new("RGB", (64, 64), (30, 200, 30))
    mask = Image.new("L", (64, 64))
    mask.paste(255, (0, 0, 32, 64))
    out = generate(
        file_engine, file_id, mode=Mode.INPAINT, init_image=image, mask=mask, strength=1.0,
        scheduler="Euler", mask_feather=0,
    )  # fmt: skip
    assert (out[:, 32:] == (30, 200, 30)).all()


def test_a_flux_file_without_its_t5_says_what_is_missing(tree, tmp_path):
    models = tmp_path / "models"
    (models / "unet").mkdir(parents=True)
    flux = models / "unet" / "flux.safetensors"
    flux.symlink_to(tree[0] / "diffusion_models" / "tiny-flux1-dev.safetensors")
    (models / "vae").mkdir()
    (models / "vae" / "ae.safetensors").symlink_to(tree[0] / "vae" / "ae.safetensors")
    info = identify(flux, model_id="flux")
    assert info.missing == ("CLIP-L (clip_l)", "T5-XXL (t5xxl)")
    assert info.problem == (
        "needs CLIP-L (clip_l.safetensors), T5-XXL (t5xxl.safetensors): put it in "
        "models/text_encoders or models/vae beside the model folder"
    )
    with pytest.raises(ModelError, match="flux: needs CLIP-L"):
        ModelLibrary([models]).resolve("flux")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("empty", "empty or truncated file (0 bytes)"),
        ("random", "not a safetensors file (no valid header)"),
        ("truncated", "truncated file"),
        ("pickle", "this pickle holds code, which the studio never runs"),
        ("unknown", "an unknown architecture"),
        ("other_dit", "an unknown architecture, which the studio does not run"),
    ],
)
def test_bad_files_are_listed_as_not_usable_with_their_reason(tmp_path, kind, reason):
    files = write_bad_files(tmp_path / "models")
    listed = {m.path.name: m for m in ModelLibrary([tmp_path / "models"]).models()}
    assert reason in listed[files[kind].name].problem
    assert "style-lora.safetensors" not in listed  # a LoRA is a component, not a bad model


def test_a_pickle_is_never_unpickled_with_code(tmp_path, capsys):
    files = write_bad_files(tmp_path)
    with pytest.raises(ModelError, match="holds code"):
        identify(files["pickle"], model_id="evil")
    assert "this code ran" not in capsys.readouterr().out


def test_flux_parts_load_from_comfyui_files_with_the_folders_weights(tree):
    """A FLUX.1 transformer file is completed with ComfyUI's clip_l, t5xxl and ae files.
    (diffusers' FLUX.1 transformer conversion is fixed to the real model's width, so the tiny
    transformer itself cannot go through it; its keys are checked at full size elsewhere.)"""
    folder = FluxPipeline.from_pretrained(tree[2] / "flux-dev")
    parts = {part.name: part for part in Flux.parts}
    info = identify(tree[0] / "diffusion_models" / "tiny-flux1-dev.safetensors", "flux")
    assert len(info.components) == 3
    for name, path in info.components:
        loaded = load_part(parts[name], Path(path), tree[1] / "flux-dev", torch.float32)
        expected, got = getattr(folder, name).state_dict(), loaded.state_dict()
        assert got.keys() == expected.keys()
        assert all(torch.equal(got[key], expected[key]) for key in expected), name


def test_a_warm_listing_reads_no_headers_and_a_changed_file_is_read_again(
    tree, tmp_path, monkeypatch
):
    from studio.core.identity_cache import IdentityCache
    from studio.engine import library as library_module

    calls = []
    real = library_module.identify
    monkeypatch.setattr(
        library_module, "identify", lambda path, **kw: calls.append(path) or real(path, **kw)
    )
    library = ModelLibrary([tree[0]], tmp_path / "none", IdentityCache(tmp_path / "m.sqlite"))
    cold = library.models()
    assert len(calls) == 7  # 4 models and the 3 parts beside FLUX.1: each file once
    calls.clear()
    assert library.models() == cold and calls == []
    sd15 = tree[0] / "checkpoints" / "tiny-sd15.safetensors"
    stat = sd15.stat()
    os.utime(sd15, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    library.models()
    assert calls == [sd15]


def test_a_text_encoder_added_later_makes_a_cached_flux_file_usable(tree, tmp_path):
    from studio.core.identity_cache import IdentityCache

    models = tmp_path / "models"
    for part in ("diffusion_models/tiny-flux1-dev.safetensors", "vae/ae.safetensors",
                 "text_encoders/clip_l.safetensors"):  # fmt: skip
        (models / part).parent.mkdir(parents=True, exist_ok=True)
        (models / part).symlink_to(tree[0] / part)
    library = ModelLibrary([models], tmp_path / "none", IdentityCache(tmp_path / "m.sqlite"))
    assert "T5-XXL" in library.models()[0].problem
    (models / "text_encoders" / "t5xxl_fp16.safetensors").symlink_to(
        tree[0] / "text_encoders" / "t5xxl_fp16.safetensors"
    )
    assert library.models()[0].usable


def test_the_model_hash_is_read_on_the_first_load_and_kept(tree, tmp_path):
    import hashlib

    from studio.core.identity_cache import IdentityCache
    from studio.core.outputs import save_result

    path = tree[0] / "checkpoints" / "tiny-sd15.safetensors"
    expected = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    cache = IdentityCache(tmp_path / "m.sqlite")
    engine = Engine(ModelLibrary([tree[0]], tmp_path / "none", cache), Placement.choose("fp32"))
    assert {m.id: m.short_hash for m in engine.models()}["tiny-sd15"] is None
    result = engine.generate(GenerationRequest(prompt="x", model="tiny-sd15", steps=1, seed=1))
    assert result.model_hash == expected
    from studio.core.history import HistoryStore

    entry = save_result(result, tmp_path / "out", HistoryStore(tmp_path / "h.sqlite"))[0]
    assert f"Model hash: {expected}" in Image.open(entry.path).text["parameters"]
    again = ModelLibrary([tree[0]], tmp_path / "none", IdentityCache(tmp_path / "m.sqlite"))
    assert {m.id: m.short_hash for m in again.models()}["tiny-sd15"] == expected


def test_a_file_marked_v_pred_and_ztsnr_runs_with_that_schedule(tree, tmp_path):
    from safetensors.torch import load_file

    tensors = load_file(tree[0] / "checkpoints" / "tiny-sd15.safetensors")
    marked = tmp_path / "models" / "vpred.safetensors"
    marked.parent.mkdir()
    write_single_file(marked, {**tensors, "v_pred": torch.empty(0), "ztsnr": torch.empty(0)})
    engine = Engine(ModelLibrary([marked.parent], tmp_path / "none"), Placement.choose("fp32"))
    info = next(m for m in engine.models() if m.id == "vpred")
    assert dict(info.schedule) == {
        "prediction_type": "v_prediction",
        "rescale_betas_zero_snr": True,
    }
    assert "PNDM" not in info.samplers  # broken on zero terminal SNR
    engine.load_model("vpred")
    config = engine._cache.current.scheduler_config
    assert (config.prediction_type, config.rescale_betas_zero_snr) == ("v_prediction", True)


def test_an_sd35_file_runs_with_the_text_encoders_beside_it(tmp_path, monkeypatch):
    """SD3.5 as Stability ships it: MMDiT and VAE in the file, CLIP-L, CLIP-G and T5-XXL in
    models/text_encoders. (A tiny MMDiT cannot pass diffusers' SD3 detection, which keys on
    the real width; detection and the parts found are checked at full size elsewhere.)"""
    import shutil

    from diffusers import StableDiffusion3Pipeline

    from studio.core.models import ModelInfo
    from tests.checkpoints.mmdit import sd35_checkpoint, t5_to_original
    from tests.checkpoints.sd import clip_to_original
    from tests.tiny_families import save_tiny_sd3

    folder = save_tiny_sd3(tmp_path / "folder")
    pipe = StableDiffusion3Pipeline.from_pretrained(folder)
    configs = tmp_path / "configs"
    shutil.copytree(folder, configs / "sd35_medium", ignore=lambda d, names: [
        n for n in names if n.endswith(".safetensors")])  # fmt: skip
    monkeypatch.setattr(base, "CONFIGS", configs)
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    (models / "text_encoders").mkdir()
    path = models / "checkpoints" / "sd3.5_medium.safetensors"
    write_single_file(path, sd35_checkpoint(pipe.transformer.state_dict(), pipe.vae.state_dict()))
    parts = {"clip_l": pipe.text_encoder, "clip_g": pipe.text_encoder_2}
    for name, model in parts.items():
        write_single_file(
            models / "text_encoders" / f"{name}.safetensors",
            clip_to_original(model.state_dict(), ""),
        )
    write_single_file(
        models / "text_encoders" / "t5xxl_fp16.safetensors",
        t5_to_original(pipe.text_encoder_3.state_dict()),
    )
    info = ModelInfo(
        id="sd35", name="sd35", family="sd3", format="safetensors", path=path,
        variant="sd35_medium",
        components=tuple(
            (name, str(models / "text_encoders" / f"{file}.safetensors"))
            for name, file in (("text_encoder", "clip_l"), ("text_encoder_2", "clip_g"),
                               ("text_encoder_3", "t5xxl_fp16"))
        ),
    )  # fmt: skip
    engine = Engine(ModelLibrary([], tmp_path / "none"), Placement.choose("fp32"))
    engine._cache.get(info)
    request = GenerationRequest(
        prompt="a red circle", model="sd35", steps=2, seed=3, width=64, height=64,
        scheduler="Euler",
    )  # fmt: skip
    from_file = np.asarray(engine.generate(request).images[0], dtype=np.int16)
    generator = torch.Generator("cpu").manual_seed(3)
    expected = pipe(
        prompt="a red circle", num_inference_steps=2, guidance_scale=7.5, width=64,
        height=64, generator=[generator], max_sequence_length=256,
    ).images[0]  # fmt: skip
    assert np.abs(from_file - np.asarray(expected, dtype=np.int16)).max() <= 2
