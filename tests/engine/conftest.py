from __future__ import annotations

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
