from __future__ import annotations

import random

import numpy as np
import pytest

from studio.training.analyzer import analyze
from studio.training.captions import caption
from studio.training.world import (
    HELD_OUT_PAIRS,
    PALETTE,
    POSITIONS,
    SHAPES,
    SIZES,
    ObjectSpec,
    SceneSpec,
    is_evaluation_combo,
    render,
    sample_scene,
)


def test_rendering_is_deterministic_by_seed():
    spec = sample_scene(random.Random(3), seed=3)
    assert np.array_equal(np.asarray(render(spec)), np.asarray(render(spec)))
    assert render(spec).size == (64, 64)


def test_training_scenes_never_hold_a_held_out_pair_or_an_evaluation_combination():
    rng = random.Random(0)
    for i in range(3000):
        spec = sample_scene(rng, i)
        assert all((o.color, o.shape) not in HELD_OUT_PAIRS for o in spec.objects)
        assert all(o.color != spec.background for o in spec.objects)
        if len(spec.objects) == 1:
            o = spec.objects[0]
            assert not is_evaluation_combo(o.color, o.shape, o.position, spec.background)


def test_about_one_in_eight_combinations_is_kept_for_evaluation():
    combos = [
        (c, s, p, b) for c in PALETTE for s in SHAPES for p in POSITIONS for b in PALETTE if b != c
    ]
    kept = sum(is_evaluation_combo(*combo) for combo in combos) / len(combos)
    assert 0.09 < kept < 0.16


def test_captions_name_what_is_drawn():
    spec = SceneSpec(objects=(ObjectSpec("red", "circle", "small", "top left"),), background="blue")
    texts = {caption(spec, random.Random(i)) for i in range(200)}
    assert "a small red circle at the top left on a blue background" in texts
    assert "small red circle, top left, blue background" in texts
    assert all("red circle" in t and "small" in t for t in texts)
    assert any("blue" not in t for t in texts)  # the background is sometimes left out


def test_captions_say_an_before_a_vowel():
    texts = {
        caption(
            SceneSpec(objects=(ObjectSpec(*obj, "medium", "top"),), background=bg), random.Random(i)
        )
        for obj, bg in ((("orange", "star"), "blue"), (("red", "star"), "orange"))
        for i in range(200)
    }
    assert "an orange star at the top on a blue background" in texts
    assert "a red star at the top with an orange background" in texts
    assert not any(t.startswith("a orange") or " a orange" in t for t in texts)


def test_two_object_captions_join_both():
    spec = SceneSpec(
        objects=(
            ObjectSpec("red", "circle", "medium", "left"),
            ObjectSpec("blue", "square", "medium", "right"),
        ),
        background="white",
    )
    texts = {caption(spec, random.Random(i)) for i in range(200)}
    assert "a red circle at the left and a blue square at the right on a white background" in texts


@pytest.mark.parametrize("size", list(SIZES))
def test_the_analyzer_reads_rendered_ground_truth_exactly(size):
    rng = random.Random(len(size))
    for i in range(120):
        color, shape, position = (
            rng.choice(list(PALETTE)),
            rng.choice(SHAPES),
            rng.choice(list(POSITIONS)),
        )
        background = rng.choice([c for c in PALETTE if c != color])
        spec = SceneSpec(
            objects=(ObjectSpec(color, shape, size, position),), background=background, seed=i
        )
        found = analyze(render(spec))
        assert (found.color, found.shape, found.position, found.background) == (
            color,
            shape,
            position,
            background,
        )


def test_the_analyzer_reports_an_empty_picture_as_background_only():
    found = analyze(render(SceneSpec(background="green")))
    assert (found.background, found.color, found.shape) == ("green", None, None)


def test_sunset_is_warmer_at_the_top():
    image = np.asarray(render(SceneSpec(scene="a sunset over mountains", seed=1)), dtype=float)
    warmth = image[..., 0] - image[..., 2]
    assert warmth[:32].mean() > warmth[32:].mean()
