"""Full-size files of every family, real headers over holes: what `models` and `inspect` say
of them, the memory each needs, and the refusals, all without loading a weight."""

from __future__ import annotations

import json

import pytest

from studio.cli import main
from studio.engine import devices
from studio.engine.library import ModelLibrary
from tests.full_size_trees import (
    write_a1111_tree,
    write_comfyui_tree,
    write_stability_matrix_tree,
)

GIB = 1024**3


@pytest.fixture(autouse=True)
def a_24_gb_machine(monkeypatch):
    """The figures below are this project's machines': 24 GiB, whatever runs the tests."""
    monkeypatch.setattr(devices, "total_memory", lambda: 24 * GIB)


@pytest.fixture(scope="module")
def comfyui(tmp_path_factory):
    return write_comfyui_tree(tmp_path_factory.mktemp("ComfyUI"))


def listed(*folders):
    return {m.id: m for m in ModelLibrary(list(folders), embedded_dir=folders[0] / "none").models()}


def test_comfyui_tree_lists_each_family_once_and_no_components(comfyui):
    models = listed(comfyui)
    assert {m: (i.family_label, i.native_size) for m, i in models.items()} == {
        "v1-5-pruned-emaonly": ("SD 1.5", (512, 512)),
        "sd-v1-5-inpainting": ("SD 1.5 inpainting", (512, 512)),
        "v2-1_768-ema-pruned": ("SD 2.x", (768, 768)),
        "sd_xl_base_1.0": ("SDXL", (1024, 1024)),
        "sd_xl_refiner_1.0": ("SDXL refiner", (1024, 1024)),
        "sd3.5_large": ("SD3.5 large", (1024, 1024)),
        "sd3.5_medium": ("SD3.5 medium", (1024, 1024)),
        "flux1-dev": ("FLUX.1 dev", (1024, 1024)),
        "flux1-schnell": ("FLUX.1 schnell", (1024, 1024)),
        "flux1-dev-Q4_0": ("FLUX.1 dev", (1024, 1024)),
    }


def test_sd_and_sdxl_files_are_usable_with_their_memory(comfyui):
    models = listed(comfyui)
    for name in ("v1-5-pruned-emaonly", "v2-1_768-ema-pruned", "sd_xl_base_1.0"):
        assert models[name].usable, models[name].problem
    # SD 1.5: 1.07 G parameters kept in fp32; SDXL: 3.47 G, in fp32 too (13.9 GB fits).
    assert models["v1-5-pruned-emaonly"].memory_bytes == pytest.approx(4.26e9, rel=0.01)
    assert models["sd_xl_base_1.0"].memory_bytes == pytest.approx(13.9e9, rel=0.01)
    assert "refines" in models["sd_xl_refiner_1.0"].problem


def test_sd35_large_runs_without_t5_when_t5_does_not_fit(comfyui):
    large = listed(comfyui)["sd3.5_large"]
    assert large.usable
    assert dict(large.components).keys() == {"text_encoder", "text_encoder_2"}
    assert large.notes == (
        "runs without T5-XXL: with it the weights need 27.6 GB, more than this machine has",
    )
    medium = listed(comfyui)["sd3.5_medium"]
    assert dict(medium.components).keys() == {"text_encoder", "text_encoder_2", "text_encoder_3"}
    assert medium.notes == ()


def test_flux_in_bf16_is_refused_naming_the_memory_it_needs(comfyui):
    flux = listed(comfyui)["flux1-dev"]
    assert flux.problem == (
        "needs about 33.7 GB of memory for its weights in bf16; this machine has 25.8 GB "
        "(a GGUF-quantized file needs less)"
    )
    assert dict(flux.components).keys() == {"text_encoder", "text_encoder_2", "vae"}


def test_a_gguf_quantized_flux_fits_where_bf16_does_not(comfyui):
    gguf = listed(comfyui)["flux1-dev-Q4_0"]
    assert gguf.usable and gguf.format == "gguf"
    # 6.7 GB of Q4_0 transformer, plus T5-XXL, CLIP-L and the VAE in bf16 (4.97 G parameters).
    assert gguf.memory_bytes == pytest.approx(6.7e9 + 2 * 4.97e9, rel=0.01)
    assert dict(gguf.components).keys() == {"text_encoder", "text_encoder_2", "vae"}


def test_a1111_and_stability_matrix_trees_list_a_linked_file_once(tmp_path):
    a1111 = write_a1111_tree(tmp_path / "webui")
    matrix = write_stability_matrix_tree(tmp_path / "StabilityMatrix", a1111 / "Stable-diffusion")
    models = listed(matrix, a1111)
    paths = sorted(str(m.path.relative_to(tmp_path)) for m in models.values())
    assert paths == [
        "StabilityMatrix/Data/Models/StableDiffusion/linked/XL/sdxl.safetensors",
        "StabilityMatrix/Data/Models/StableDiffusion/linked/v1-5-pruned-emaonly.safetensors",
        "StabilityMatrix/Data/Models/StableDiffusion/sd15.safetensors",
    ]


def test_models_json_and_inspect_say_the_same(comfyui, capsys):
    assert main(["models", "--json", "--model-dir", str(comfyui)]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    flux = rows["flux1-schnell"]
    assert flux["family"] == "flux" and flux["variant"] == "flux-schnell"
    assert flux["usable"] is False and "33.7 GB" in flux["problem"]
    assert flux["parameters"] == pytest.approx(16.8e9, rel=0.01)
    path = comfyui / "diffusion_models" / "flux1-schnell.safetensors"
    assert main(["inspect", str(path)]) == 0
    inspected = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in inspected.items() if k != "id"} == {
        k: v for k, v in flux.items() if k != "id"
    }


def test_a_diffusers_repo_in_the_hugging_face_cache_is_named_after_the_repo(
    tiny_model_dir, tmp_path
):
    import shutil

    snapshot = tmp_path / "hub" / "models--acme--tiny-sd" / "snapshots" / "0123abcd"
    shutil.copytree(tiny_model_dir / "tiny", snapshot)
    (info,) = listed(tmp_path / "hub").values()
    assert (info.id, info.name) == ("tiny-sd", "acme/tiny-sd")
