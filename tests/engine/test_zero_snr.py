"""Every sampler on a model trained like snail-mini: zero terminal SNR and v-prediction.

At the last timestep such a model sees pure noise (sigma is infinite for the Karras-style
samplers), so a sampler that does not handle it turns the whole image into NaN: black.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from studio.core.errors import RequestError
from studio.core.request import GenerationRequest
from studio.core.schedulers import SCHEDULER_NAMES, samplers_for
from studio.engine import Engine, ModelLibrary
from studio.engine.devices import Placement
from studio.training.architecture import build_inference_scheduler
from tests.tiny_pipeline import save_tiny_pipeline

ZERO_SNR = {"rescale_betas_zero_snr": True}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("v-models")
    save_tiny_pipeline(root / "tiny-v", scheduler=build_inference_scheduler())
    library = ModelLibrary([root], embedded_dir=tmp_path_factory.mktemp("no-embedded"))
    return Engine(library, Placement.choose("fp32", "cpu"))


def _request(name: str) -> GenerationRequest:
    return GenerationRequest(
        prompt="a red circle", model="tiny-v", scheduler=name, steps=6, seed=3, width=64, height=64
    )


@pytest.mark.parametrize("name", samplers_for(ZERO_SNR))
def test_every_usable_sampler_gives_a_picture_on_a_zero_terminal_snr_model(engine, name):
    image = np.asarray(engine.generate(_request(name)).images[0], dtype=np.float32)
    assert image.std() > 1.0, f"{name} gave a flat image (NaN latents decode to black)"


@pytest.mark.parametrize("name", sorted(set(SCHEDULER_NAMES) - set(samplers_for(ZERO_SNR))))
def test_a_sampler_that_breaks_such_a_model_is_refused_in_one_line(engine, name):
    with pytest.raises(
        RequestError, match=re.escape(f"the {name} sampler gives broken pictures")
    ) as refused:
        engine.generate(_request(name))
    assert "zero terminal SNR" in str(refused.value) and "\n" not in str(refused.value)
