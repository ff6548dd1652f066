"""Grouping, filtering, hash matching and last images of the model list."""

from __future__ import annotations

from pathlib import Path

from studio.core.history import HistoryStore
from studio.core.model_groups import (
    ModelGroup,
    filter_groups,
    find_by_hash,
    group_models,
    last_images,
)
from studio.core.models import ModelInfo
from studio.core.request import GenerationRequest


def _model(model_id: str, family: str, label: str, **fields) -> ModelInfo:
    path = Path(f"/comfy/models/{model_id}.safetensors")
    return ModelInfo(model_id, model_id, family, "safetensors", path, family_label=label, **fields)


MINI = ModelInfo("snail-mini", "Snail Mini", "snail-mini", "diffusers", Path("/m"), embedded=True)
SD15 = _model("v1-5", "sd1", "SD 1.5", short_hash="6CE0161689")
INPAINT = _model("sd-inpaint", "sd1", "SD 1.5 inpainting")
MEDIUM = _model("sd35-medium", "sd3", "SD3.5 medium", notes=("runs without T5-XXL",))
LARGE = _model("sd35-large", "sd3", "SD3.5 large", problem="needs 40 GB, this machine has 24 GB")
DEV = _model("flux-dev", "flux", "FLUX.1 dev")
JUNK = _model("junk", "unknown", "", problem="not a safetensors file (no valid header)")
ALL = [DEV, JUNK, LARGE, SD15, MINI, MEDIUM, INPAINT]


def test_models_are_grouped_by_family_embedded_first_and_unusable_last():
    assert group_models(ALL) == [
        ModelGroup("snail-mini", (MINI,)),
        ModelGroup("FLUX.1 dev", (DEV,)),
        ModelGroup("SD 1.5", (INPAINT, SD15)),
        ModelGroup("SD3.5", (MEDIUM, LARGE)),
        ModelGroup("Not usable", (JUNK,)),
    ]


def test_typing_filters_by_name_family_folder_and_notes():
    groups = group_models(ALL)
    assert [m.id for g in filter_groups(groups, "sd3.5") for m in g.models] == [
        "sd35-medium",
        "sd35-large",
    ]
    assert [m.id for g in filter_groups(groups, "T5 medium") for m in g.models] == ["sd35-medium"]
    assert [g.title for g in filter_groups(groups, "comfy inpaint")] == ["SD 1.5"]
    assert filter_groups(groups, "nothing like it") == []
    assert filter_groups(groups, "  ") == groups


def test_a_model_is_found_by_its_short_hash_in_any_case():
    assert find_by_hash(ALL, "6ce0161689") is SD15
    assert find_by_hash(ALL, "0000000000") is None
    assert find_by_hash(ALL, "") is None


def test_the_newest_image_of_each_model_is_found_by_id_path_or_name(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite")
    store.add(tmp_path / "old.png", GenerationRequest("a snail", model="v1-5"), 1, "v1-5", 1.0)
    store.add(tmp_path / "new.png", GenerationRequest("a snail", model=str(SD15.path)), 2, "x", 1.0)
    store.add(tmp_path / "dev.png", GenerationRequest("a snail", model="gone"), 3, "flux-dev", 1.0)
    store.add(tmp_path / "other.png", GenerationRequest("a snail", model="gone"), 4, "gone", 1.0)
    assert last_images(ALL, store.entries()) == {
        "v1-5": tmp_path / "new.png",
        "flux-dev": tmp_path / "dev.png",
    }
