"""What the compare view shows under each image."""

from __future__ import annotations

from studio.core.compare import KEY_ORDER, applicable_parameters, differing_parameters
from studio.core.request import GenerationRequest, Mode


def test_only_differing_keys_in_a_sensible_order():
    base = GenerationRequest(prompt="snail", seed=1, width=64, height=64).to_dict()
    params = [
        {**base, "seed": 1, "steps": 20, "prompt": "snail"},
        {**base, "seed": 2, "steps": 20, "prompt": "slug"},
        {**base, "seed": 3, "steps": 30, "prompt": "snail"},
    ]
    result = differing_parameters(params)
    assert result == [
        {"seed": 1, "steps": 20, "prompt": "snail"},
        {"seed": 2, "steps": 20, "prompt": "slug"},
        {"seed": 3, "steps": 30, "prompt": "snail"},
    ]
    for entry in result:
        assert list(entry) == ["seed", "steps", "prompt"]


def test_order_follows_key_order_not_input_order():
    params = [
        {"prompt": "a", "model": "m1", "guidance_scale": 5.0, "seed": 1},
        {"prompt": "b", "model": "m2", "guidance_scale": 7.5, "seed": 2},
    ]
    (first, _) = differing_parameters(params)
    assert list(first) == ["seed", "guidance_scale", "model", "prompt"]
    assert KEY_ORDER.index("seed") < KEY_ORDER.index("prompt")


def test_unknown_keys_follow_in_first_seen_order():
    params = [{"zeta": 1, "alpha": 1, "seed": 1}, {"zeta": 2, "alpha": 2, "seed": 2}]
    assert list(differing_parameters(params)[0]) == ["seed", "zeta", "alpha"]


def test_identical_entries_and_single_entry_show_nothing():
    same = {"seed": 1, "steps": 20}
    assert differing_parameters([same, dict(same)]) == [{}, {}]
    assert differing_parameters([same]) == [{}]
    assert differing_parameters([]) == []


def test_a_key_missing_from_one_entry_differs_and_shows_none():
    params = [{"seed": 1, "strength": 0.5}, {"seed": 1}]
    assert differing_parameters(params) == [{"strength": 0.5}, {"strength": None}]


def test_equal_numbers_of_different_types_do_not_differ():
    params = [{"guidance_scale": 7, "seed": 1}, {"guidance_scale": 7.0, "seed": 2}]
    assert differing_parameters(params) == [{"seed": 1}, {"seed": 2}]


def test_unhashable_values_are_compared():
    params = [
        {"init_image": {"width": 64, "height": 64}, "seed": 1},
        {"init_image": {"width": 64, "height": 64}, "seed": 1},
        {"init_image": {"width": 32, "height": 64}, "seed": 1},
    ]
    result = differing_parameters(params)
    assert [list(entry) for entry in result] == [["init_image"]] * 3
    assert result[2]["init_image"] == {"width": 32, "height": 64}


def test_one_outlier_shows_on_every_entry():
    params = [{"seed": 1}, {"seed": 1}, {"seed": 9}]
    assert differing_parameters(params) == [{"seed": 1}, {"seed": 1}, {"seed": 9}]


def test_captions_leave_out_what_the_mode_ignores():
    txt2img = applicable_parameters(GenerationRequest("a", strength=0.3, mask_feather=9))
    assert "strength" not in txt2img and "mask_feather" not in txt2img
    assert txt2img["guidance_scale"] == 7.5
    img2img = applicable_parameters(GenerationRequest("a", mode=Mode.IMG2IMG, strength=0.3))
    assert img2img["strength"] == 0.3 and "mask_feather" not in img2img
    inpaint = applicable_parameters(GenerationRequest("a", mode=Mode.INPAINT, mask_feather=9))
    assert inpaint["mask_feather"] == 9 and "init_image" not in inpaint
