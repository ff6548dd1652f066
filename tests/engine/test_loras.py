"""LoRAs on the tiny pipelines: found beside the models, refused for another family, applied
and removed without reloading the base model, weight 0 = no LoRA, written into the PNG."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import RequestError
from studio.core.history import HistoryStore
from studio.core.loras import LoraRef, parse_lora_hashes, safetensors_hash
from studio.core.metadata import PARAMETERS_CHUNK, parse_parameters, read_png_request
from studio.core.request import GenerationRequest
from studio.core.service import StudioService
from studio.engine import Engine, ModelLibrary, loras, pipelines
from studio.engine.devices import Placement
from tests.tiny_families import save_tiny_flux, save_tiny_sdxl
from tests.tiny_loras import KOHYA_SDXL_PREFIXES, save_diffusers_lora, to_kohya
from tests.tiny_pipeline import save_tiny_pipeline


@pytest.fixture(scope="module")
def lora_root(tmp_path_factory) -> Path:
    """`models/` with the tiny SD and SDXL models and `models/loras/`; `Lora/` beside it."""
    root = tmp_path_factory.mktemp("lora-tree")
    models = root / "models"
    sd, xl = save_tiny_pipeline(models / "tiny"), save_tiny_sdxl(models / "tinyxl")
    flux = save_tiny_flux(models / "tinyflux")
    (models / "loras").mkdir()
    (root / "Lora").mkdir()
    made = root / "made"
    ink = save_diffusers_lora(sd, made / "ink", seed=1)
    to_kohya(ink, models / "loras" / "ink.safetensors")
    paper = save_diffusers_lora(sd, made / "paper", seed=2)
    (root / "Lora" / "paper.safetensors").write_bytes(paper.read_bytes())  # diffusers layout
    xl_style = save_diffusers_lora(xl, made / "xl", seed=3)
    to_kohya(xl_style, models / "loras" / "xl_style.safetensors", KOHYA_SDXL_PREFIXES)
    flux_lora = save_diffusers_lora(flux, made / "flux", seed=4, text_encoders=False)
    (models / "loras" / "flux_style.safetensors").write_bytes(flux_lora.read_bytes())
    _write_loha(models / "loras" / "loha.safetensors")
    return root


@pytest.fixture(scope="module")
def engine(lora_root, tmp_path_factory) -> Engine:
    library = ModelLibrary([lora_root / "models"], embedded_dir=tmp_path_factory.mktemp("none"))
    return Engine(library, Placement.choose("fp32", "cpu"))


def request(**changes) -> GenerationRequest:
    base = {"prompt": "a red circle", "model": "tiny", "steps": 2, "seed": 5}
    return GenerationRequest(**{"width": 64, "height": 64, **base, **changes})


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def rmse(a: Image.Image, b: Image.Image) -> float:
    return float(np.sqrt(np.mean((pixels(a) - pixels(b)) ** 2)))


def test_loras_are_listed_for_their_model_family_only(engine):
    for_sd = {lora.name: lora for lora in engine.loras("tiny")}
    assert set(for_sd) == {"ink", "paper", "loha"}
    assert for_sd["ink"].usable and for_sd["paper"].usable
    assert "LoHa" in for_sd["loha"].problem
    assert [lora.name for lora in engine.loras("tinyxl")] == ["xl_style"]
    assert engine.loras("tinyxl")[0].family_label == "SDXL"
    assert [lora.name for lora in engine.loras("tinyflux")] == ["flux_style"]


def test_lora_changes_the_image_weight_zero_and_removal_do_not_and_nothing_reloads(
    engine, monkeypatch
):
    base_loads, lora_loads = (
        _count(monkeypatch, pipelines, "load_pipeline"),
        _count(monkeypatch, loras, "_load"),
    )
    base = engine.generate(request()).images[0]
    with_ink = engine.generate(request(loras=(LoraRef("ink", 1.0),))).images[0]
    zero = engine.generate(request(loras=(LoraRef("ink", 0.0),))).images[0]
    half = engine.generate(request(loras=(LoraRef("ink", 0.5),))).images[0]
    removed = engine.generate(request()).images[0]
    again = engine.generate(request(loras=(LoraRef("ink", 1.0),))).images[0]

    assert rmse(with_ink, base) > 5  # a clear change (0-255 scale)
    assert rmse(half, base) > 1 and rmse(half, with_ink) > 1
    assert np.array_equal(pixels(zero), pixels(base))
    assert np.array_equal(pixels(removed), pixels(base))
    assert np.array_equal(pixels(again), pixels(with_ink))
    assert len(base_loads) <= 1  # the model became resident once (or already was)
    assert len(lora_loads) == 1  # the LoRA file was read once, then switched by weight


def test_diffusers_layout_lora_and_two_at_once(engine):
    base = engine.generate(request()).images[0]
    paper = engine.generate(request(loras=(LoraRef("paper", 1.0),))).images[0]
    ink = engine.generate(request(loras=(LoraRef("ink", 1.0),))).images[0]
    both = engine.generate(request(loras=(LoraRef("ink", 1.0), LoraRef("paper", 1.0))))
    assert rmse(paper, base) > 5 and rmse(paper, ink) > 5
    assert rmse(both.images[0], ink) > 1 and rmse(both.images[0], paper) > 1
    assert set(both.lora_hashes) == {"ink", "paper"}


def test_a_lora_for_another_family_is_refused_in_one_line(engine):
    with pytest.raises(RequestError) as caught:
        engine.generate(request(loras=(LoraRef("xl_style", 1.0),)))
    assert str(caught.value) == "LoRA 'xl_style' is for SDXL; the model 'tiny' is SD 1.5"


@pytest.mark.parametrize(
    ("name", "expected"), [("nope", "unknown LoRA 'nope'"), ("loha", "LyCORIS LoHa")]
)
def test_unknown_and_unsupported_loras_are_request_errors(engine, name, expected):
    with pytest.raises(RequestError, match=expected):
        engine.generate(request(loras=(LoraRef(name, 1.0),)))


def test_prompt_tag_applies_the_lora_and_the_png_carries_tag_and_hash(engine, lora_root, tmp_path):
    tagged = engine.generate(request(prompt="a red circle <lora:ink:0.5>")).images[0]
    panel = engine.generate(request(loras=(LoraRef("ink", 0.5),))).images[0]
    assert np.array_equal(pixels(tagged), pixels(panel))  # tag removed from the encoder text

    service = StudioService(engine, HistoryStore(tmp_path / "h.db"), tmp_path / "out")
    saved = service.generate(request(prompt="a red circle <lora:ink:0.5>"))
    path = saved.paths[0]
    text = Image.open(path).info[PARAMETERS_CHUNK]
    prompt, _, settings = parse_parameters(text)
    assert prompt == "a red circle <lora:ink:0.5>"
    ink_hash = safetensors_hash(lora_root / "models" / "loras" / "ink.safetensors")
    assert parse_lora_hashes(settings["Lora hashes"]) == {"ink": ink_hash}
    restored = read_png_request(path)
    assert restored.applied_loras == (LoraRef("ink", 0.5),)
    again = engine.generate(restored).images[0]
    assert np.array_equal(pixels(again), pixels(saved.images[0]))


def test_sdxl_kohya_lora_changes_the_sdxl_image(engine):
    xl = {"model": "tinyxl", "guidance_scale": 5.0}
    base = engine.generate(request(**xl)).images[0]
    styled = engine.generate(request(**xl, loras=(LoraRef("xl_style", 1.0),))).images[0]
    zero = engine.generate(request(**xl, loras=(LoraRef("xl_style", 0.0),))).images[0]
    assert rmse(styled, base) > 5
    assert np.array_equal(pixels(zero), pixels(base))


def test_flux_lora_changes_the_flux_image(engine):
    flux = {"model": "tinyflux", "guidance_scale": 3.5, "scheduler": "Euler"}
    base = engine.generate(request(**flux)).images[0]
    styled = engine.generate(request(**flux, loras=(LoraRef("flux_style", 1.0),))).images[0]
    removed = engine.generate(request(**flux)).images[0]
    assert rmse(styled, base) > 1
    assert np.array_equal(pixels(removed), pixels(base))


def _count(monkeypatch, module, name: str) -> list[object]:
    calls: list[object] = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def _write_loha(path: Path) -> None:
    """A LyCORIS LoHa header (Kohya names, `hada_` factors): diffusers cannot apply it."""
    stem = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
    names = [f"{stem}.hada_w1_a", f"{stem}.hada_w1_b", f"{stem}.hada_w2_a", f"{stem}.hada_w2_b"]
    header, offset = {}, 0
    for name in names:
        header[name] = {"dtype": "F32", "shape": [2, 2], "data_offsets": [offset, offset + 16]}
        offset += 16
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + bytes(offset))
