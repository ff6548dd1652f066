"""The studio service: run on a backend, save, record, and hand the whole result back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import ModelError
from studio.core.history import HistoryStore
from studio.core.metadata import read_png_request
from studio.core.request import GenerationRequest
from studio.core.service import StudioService
from tests.ui.fake_engine import FakeEngine


@pytest.fixture
def service(tmp_path) -> StudioService:
    return StudioService(FakeEngine(), HistoryStore(tmp_path / "h.sqlite"), tmp_path / "out")


def test_generate_saves_records_and_returns_everything_in_memory(service, tmp_path):
    steps = []
    request = GenerationRequest("two snails", steps=3, seed=40, batch_size=2)
    outcome = service.generate(request, on_step=steps.append)

    assert [u.step for u in steps] == [1, 2, 3]
    assert outcome.seeds == [40, 41]
    assert [p.parent for p in outcome.paths] == [tmp_path / "out"] * 2
    assert service.history.entries() == list(reversed(outcome.entries))
    for image, entry in zip(outcome.images, outcome.entries, strict=True):
        with Image.open(entry.path) as saved:
            assert np.array_equal(np.asarray(saved.convert("RGB")), np.asarray(image))
        assert read_png_request(entry.path).seed == entry.seed


def test_a_png_target_is_written_where_asked(service, tmp_path):
    target = tmp_path / "mine.png"
    outcome = service.generate(GenerationRequest("one", steps=1, seed=2), out=target)
    assert outcome.paths == [target] and target.is_file()
    assert service.history.count() == 1


def test_a_failed_run_saves_nothing(service):
    service.backend.fail_next(ModelError("no such model"))
    with pytest.raises(ModelError):
        service.generate(GenerationRequest("x", steps=1))
    assert service.history.count() == 0


def test_load_model_says_what_the_backend_loaded(service):
    assert service.load_model("snail-mini").recommended_guidance == 2.5
