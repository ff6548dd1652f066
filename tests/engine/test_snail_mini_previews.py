"""On snail-mini, the x0 preview is a picture early: it nears the final image step by step,
and by a quarter of the steps it shows the right background and the object's place."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from studio.core.request import GenerationRequest
from studio.engine.timeline import Timeline
from studio.training.analyzer import analyze

STEPS = 20
QUARTER = STEPS // 4
PROMPTS = (
    ("a red circle at the left on a blue background", "blue", "left"),
    ("a yellow star at the top right on a green background", "green", "top right"),
    ("a white square at the bottom on a black background", "black", "bottom"),
)


@pytest.fixture(scope="module")
def engine():
    from studio.engine import Engine, ModelLibrary
    from studio.engine.devices import Placement

    return Engine(ModelLibrary(), Placement.choose("fp32", "cpu"))


def rmse(a: Image.Image, b: Image.Image) -> float:
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return float(np.sqrt((diff**2).mean()))


@pytest.fixture(scope="module", params=PROMPTS, ids=lambda p: p[0])
def run(engine, request):
    prompt, background, place = request.param
    timeline, updates = Timeline(), []
    result = engine.generate(
        GenerationRequest(prompt, seed=1, steps=STEPS, scheduler="DDIM"),
        on_step=updates.append,
        observers=[timeline],
    )
    return result, timeline, updates, background, place


def _falls(distances: list[float]) -> bool:
    quarters = [np.mean(distances[i : i + QUARTER]) for i in range(0, STEPS, QUARTER)]
    return all(later < earlier for earlier, later in itertools.pairwise(quarters))


def test_the_decoded_x0_nears_the_final_image_with_every_quarter(run):
    result, timeline, _, _, _ = run
    distances = [rmse(timeline.decode(step), result.images[0]) for step in timeline.steps]
    assert _falls(distances), distances
    assert distances[-1] < 3 < 15 < distances[0]


def test_the_x0_preview_nears_the_last_preview_with_every_quarter(run):
    _, _, updates, _, _ = run
    distances = [rmse(u.preview, updates[-1].preview) for u in updates]
    assert _falls(distances), distances


def test_at_a_quarter_of_the_steps_background_and_place_are_right(run):
    _, timeline, updates, background, place = run
    decoded = analyze(timeline.decode(QUARTER))
    preview = analyze(updates[QUARTER - 1].preview.resize((64, 64), Image.Resampling.BILINEAR))
    assert (decoded.background, decoded.position) == (background, place)
    assert (preview.background, preview.position) == (background, place)


def test_the_noisy_preview_at_a_quarter_is_still_far_from_the_picture(run):
    # What the old previews showed, and why they were replaced.
    _, _, updates, _, _ = run
    quarter = updates[QUARTER - 1]
    final = updates[-1].preview
    assert rmse(quarter.noisy_preview, final) > 2 * rmse(quarter.preview, final)


def test_cli_timeline_ends_near_the_final_image(tmp_path, capsys):
    from studio.cli import main

    out, timeline = tmp_path / "star.png", tmp_path / "star.webp"
    prompt = "a yellow star at the top right on a blue background"
    status = main(
        [
            "generate",
            "--prompt",
            prompt,
            "--seed",
            "1",
            "--steps",
            "12",
            "--out",
            str(out),
            "--timeline",
            str(timeline),
        ]
    )
    assert status == 0, capsys.readouterr().err
    with Image.open(timeline) as animation:
        assert animation.n_frames == 12
        animation.seek(11)
        last = animation.convert("RGB")
        animation.seek(0)
        first = animation.convert("RGB")
    final = Image.open(out).convert("RGB")
    assert rmse(last, final) < 3 < rmse(first, final)
