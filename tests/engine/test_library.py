"""What the library reads from a model folder's sidecar file, without loading weights."""

from __future__ import annotations

import json

import pytest

from studio.core.schedulers import SCHEDULER_NAMES
from studio.engine.library import identify
from studio.engine.previews import PREVIEW_FILE


@pytest.mark.parametrize(
    ("sidecar", "recommended"),
    [
        ({"defaults": {"guidance_scale": 2}}, 2.0),
        ({"defaults": {"guidance_scale": 0.0}}, 0.0),
        ({"defaults": {"guidance_scale": 80}}, None),
        ({"defaults": {"guidance_scale": "high"}}, None),
        ({"defaults": {"guidance_scale": True}}, None),
        ({"defaults": [3.0]}, None),
        ({"name": "No defaults"}, None),
        (None, None),
    ],
)
def test_a_recommended_guidance_is_read_only_when_it_is_a_sane_number(
    tiny_model_dir, tmp_path, sidecar, recommended
):
    folder = _copy_configs(tiny_model_dir / "tiny", tmp_path / "model")
    if sidecar is not None:
        (folder / PREVIEW_FILE).write_text(json.dumps(sidecar))
    assert identify(folder, model_id="m").recommended_guidance == recommended


def _copy_configs(source, target):
    """The folder's JSON files only: identify reads nothing else."""
    for path in source.rglob("*.json"):
        copy = target / path.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(path.read_text())
    for component in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        (target / component).mkdir(parents=True, exist_ok=True)
    return target


def test_a_zero_terminal_snr_model_lists_only_the_samplers_that_work_on_it(
    tiny_model_dir, tmp_path
):
    folder = _copy_configs(tiny_model_dir / "tiny", tmp_path / "model")
    assert identify(folder, model_id="m").samplers == SCHEDULER_NAMES
    config = folder / "scheduler" / "scheduler_config.json"
    config.write_text(
        json.dumps({**json.loads(config.read_text()), "rescale_betas_zero_snr": True})
    )
    assert "PNDM" not in identify(folder, model_id="m").samplers
