"""Every family adapter on a tiny model of its architecture: each mode, sizes, determinism,
previews, samplers and the controls each family uses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import RequestError
from studio.core.request import GenerationRequest, Mode
from studio.engine import Engine, ModelLibrary
from studio.engine.devices import Placement
from tests.tiny_families import (
    save_tiny_flux,
    save_tiny_sd3,
    save_tiny_sd_inpainting,
    save_tiny_sdxl,
)

BUILDERS = {
    "sdxl": save_tiny_sdxl,
    "sd-inpainting": save_tiny_sd_inpainting,
    "sd3": save_tiny_sd3,
    "sd3-no-t5": lambda folder: save_tiny_sd3(folder, with_t5=False),
    "flux-dev": save_tiny_flux,
    "flux-schnell": lambda folder: save_tiny_flux(folder, dev=False),
}
FAMILY_MODELS = ["sdxl", "sd-inpainting", "sd3", "flux-dev"]


@pytest.fixture(scope="session")
def family_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    for name, build in BUILDERS.items():
        build(root / name)
        # Tiny models are 64 px models; say so as snail-mini's sidecar does.
        (root / name / "snail_studio.json").write_text(json.dumps({"native_size": [64, 64]}))
    return root


@pytest.fixture(scope="session")
def family_engine(family_dir, tmp_path_factory):
    library = ModelLibrary([family_dir], embedded_dir=tmp_path_factory.mktemp("no-embedded"))
    return Engine(library, Placement.choose("fp32", "cpu"))


def request(model: str, **changes) -> GenerationRequest:
    defaults = {"prompt": "a red circle", "model": model, "steps": 3, "seed": 7}
    return GenerationRequest(**{**defaults, **changes})


def odd_input() -> tuple[Image.Image, Image.Image]:
    """A 100x70 input (a multiple of neither 8 nor 16) and a mask over its left half."""
    pixels = np.zeros((70, 100, 3), np.uint8)
    pixels[..., 0] = np.arange(100, dtype=np.uint8)[None, :] * 2
    pixels[..., 2] = 180
    mask = Image.new("L", (100, 70))
    mask.paste(255, (0, 0, 50, 70))
    return Image.fromarray(pixels, "RGB"), mask


def test_the_library_knows_each_family_from_its_folder(family_engine):
    models = {m.id: m for m in family_engine.models()}
    assert [models[n].family_label for n in BUILDERS] == [
        "SDXL", "SD 1.5 inpainting", "SD3 medium", "SD3 medium", "FLUX.1 dev", "FLUX.1 schnell",
    ]  # fmt: skip
    assert all(models[n].usable for n in BUILDERS)
    assert [models[n].size_multiple for n in BUILDERS] == [8, 8, 16, 16, 16, 16]
    assert models["sd3-no-t5"].notes == ("runs without T5-XXL (the folder has none)",)
    assert models["sd3"].notes == ()


def test_each_family_offers_only_the_controls_it_uses(family_engine):
    models = {m.id: m for m in family_engine.models()}
    assert models["sdxl"].uses_negative_prompt and models["sdxl"].uses_guidance
    assert not models["flux-dev"].uses_negative_prompt and models["flux-dev"].uses_guidance
    assert models["flux-dev"].uses_true_cfg and not models["sdxl"].uses_true_cfg
    assert not models["flux-schnell"].uses_guidance
    assert models["flux-schnell"].default_steps == 4
    assert models["flux-dev"].recommended_guidance == 3.5
    assert models["flux-dev"].samplers == ("Euler", "UniPC")
    assert "DDIM" in models["sdxl"].samplers


@pytest.mark.parametrize("model", [*FAMILY_MODELS, "sd3-no-t5", "flux-schnell"])
def test_txt2img_is_deterministic_with_a_preview_every_step(family_engine, model):
    steps = []
    first = family_engine.generate(request(model, scheduler="Euler"), on_step=steps.append)
    again = family_engine.generate(request(model, scheduler="Euler"))
    assert first.images[0].size == (64, 64)
    assert np.array_equal(np.asarray(first.images[0]), np.asarray(again.images[0]))
    assert [s.step for s in steps] == [1, 2, 3]
    assert all(s.preview.size == (8, 8) for s in steps)  # latents are 1/8 of the image


@pytest.mark.parametrize("model", FAMILY_MODELS)
def test_img2img_keeps_an_odd_input_size(family_engine, model):
    image, _ = odd_input()
    result = family_engine.generate(
        request(model, mode=Mode.IMG2IMG, init_image=image, scheduler="Euler", strength=0.6)
    )
    assert result.images[0].size == (100, 70)
    assert (result.request.width, result.request.height) == (100, 70)


@pytest.mark.parametrize("model", FAMILY_MODELS)
def test_inpaint_changes_nothing_outside_the_mask_at_an_odd_size(family_engine, model):
    image, mask = odd_input()
    result = family_engine.generate(
        request(
            model, mode=Mode.INPAINT, init_image=image, mask=mask, strength=1.0,
            scheduler="Euler", mask_feather=0,
        )
    )  # fmt: skip
    out = np.asarray(result.images[0])
    assert out.shape == (70, 100, 3)
    assert np.array_equal(out[:, 50:], np.asarray(image)[:, 50:])
    assert not np.array_equal(out[:, :50], np.asarray(image)[:, :50])


def test_a_size_off_the_familys_multiple_is_refused_in_one_line(family_engine):
    with pytest.raises(
        RequestError, match=r"width must be a multiple of 16 for FLUX\.1 dev, got 72"
    ):
        family_engine.generate(request("flux-dev", width=72, height=64))
    assert family_engine.generate(request("sdxl", width=72, height=64)).images[0].size == (72, 64)


@pytest.mark.parametrize("model", ["sd3", "flux-dev"])
def test_flow_models_run_a_higher_order_sampler_and_refuse_the_others(family_engine, model):
    euler = family_engine.generate(request(model, scheduler="Euler"))
    unipc = family_engine.generate(request(model, scheduler="UniPC"))
    assert not np.array_equal(np.asarray(euler.images[0]), np.asarray(unipc.images[0]))
    with pytest.raises(RequestError, match="the DDIM sampler does not run flow-matching models"):
        family_engine.generate(request(model, scheduler="DDIM"))


def test_flux_true_cfg_uses_the_negative_prompt_only_when_asked(family_engine):
    def run(**changes):
        result = family_engine.generate(request("flux-dev", scheduler="Euler", **changes))
        return np.asarray(result.images[0])

    plain = run()
    assert np.array_equal(plain, run(negative_prompt="blue"))  # distilled guidance alone
    assert not np.array_equal(plain, run(negative_prompt="blue", true_cfg_scale=4.0))


def test_flux_distilled_guidance_changes_the_image(family_engine):
    low = family_engine.generate(request("flux-dev", scheduler="Euler", guidance_scale=1.0))
    high = family_engine.generate(request("flux-dev", scheduler="Euler", guidance_scale=6.0))
    assert not np.array_equal(np.asarray(low.images[0]), np.asarray(high.images[0]))


def test_a_cold_load_reports_the_bytes_it_reads(family_engine, family_dir):
    engine = Engine(family_engine.library, Placement.choose("fp32", "cpu"))  # nothing loaded
    reports = []
    engine.load_model("sd3-no-t5", on_progress=reports.append)
    weights = sum(p.stat().st_size for p in (family_dir / "sd3-no-t5").glob("*/*.safetensors"))
    assert reports[0].done == 0 and reports[-1].done == reports[-1].total == weights
    again = []
    engine.load_model("sd3-no-t5", on_progress=again.append)
    assert again == []  # already resident: nothing to read
