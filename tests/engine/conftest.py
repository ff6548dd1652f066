from __future__ import annotations

import json

import pytest

from studio.engine import Engine, ModelLibrary
from studio.engine.devices import Placement
from tests.tiny_pipeline import save_tiny_pipeline


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A model folder holding one tiny SD 1.x-layout model, `tiny`."""
    root = tmp_path_factory.mktemp("models")
    save_tiny_pipeline(root / "tiny")
    return root


@pytest.fixture(scope="session")
def engine(tiny_model_dir, tmp_path_factory):
    """One engine for the session (loading is the slow part); no embedded model in view."""
    library = ModelLibrary([tiny_model_dir], embedded_dir=tmp_path_factory.mktemp("no-embedded"))
    return Engine(library, Placement.choose("fp32", "cpu"))


@pytest.fixture(scope="session")
def flow_model_dir(tmp_path_factory):
    """Tiny flow-matching models: SD3 (a fixed shift) and FLUX.1 dev (packed latents, a
    shift that grows with the image)."""
    from tests.tiny_families import save_tiny_flux, save_tiny_sd3

    root = tmp_path_factory.mktemp("flow-models")
    for name, build in (("sd3", save_tiny_sd3), ("flux-dev", save_tiny_flux)):
        build(root / name)
        (root / name / "snail_studio.json").write_text(json.dumps({"native_size": [64, 64]}))
    return root


@pytest.fixture(scope="session")
def flow_engine(flow_model_dir, tmp_path_factory):
    library = ModelLibrary([flow_model_dir], embedded_dir=tmp_path_factory.mktemp("no-embedded"))
    return Engine(library, Placement.choose("fp32", "cpu"))
