"""Every sampler on a model trained like snail-mini: zero terminal SNR and v-prediction.

At the last timestep such a model sees pure noise (sigma is infinite for the Karras-style
samplers), so a sampler that does not handle it turns the whole image into NaN: black.
"""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.request import GenerationRequest
from studio.core.schedulers import SCHEDULER_NAMES
from studio.engine import Engine, ModelLibrary
from studio.engine.devices import Placement
from studio.training.architecture import build_inference_scheduler
from tests.tiny_pipeline import save_tiny_pipeline


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("v-models")
    save_tiny_pipeline(root / "tiny-v", scheduler=build_inference_scheduler())
    library = ModelLibrary([root], embedded_dir=tmp_path_factory.mktemp("no-embedded"))
    return Engine(library, Placement.choose("fp32", "cpu"))


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_every_scheduler_gives_a_picture_on_a_zero_terminal_snr_model(engine, name):
    request = GenerationRequest(
        prompt="a red circle", model="tiny-v", scheduler=name, steps=6, seed=3, width=64, height=64
    )
    image = np.asarray(engine.generate(request).images[0], dtype=np.float32)
    assert image.std() > 1.0, f"{name} gave a flat image (NaN latents decode to black)"
