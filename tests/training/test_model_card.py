"""The evaluation report as the model card shows it, and the guidance it recommends."""

from __future__ import annotations

from studio.training.model_card import ASPECTS, format_report, recommended_guidance


def _scores(shape: float) -> dict[str, float]:
    return {aspect: shape if aspect == "shape" else 1.0 for aspect in ASPECTS}


REPORT = {
    "prompts": 64,
    "guidance_draws": 3,
    "held_out_prompts": 32,
    "main": _scores(0.72),
    "held_out": _scores(0.69),
    "guidance": {
        "1.0": _scores(0.67),
        "2.0": _scores(0.84),
        "3.0": _scores(0.84),
        "7.5": _scores(0.72),
        "30.0": _scores(0.5),
    },
    "guidance_held_out": {"1.0": _scores(0.59), "7.5": _scores(0.69)},
    "steps": {"DDIM 20": _scores(0.72)},
}


def test_the_recommended_guidance_is_the_best_of_the_sweep_and_the_lowest_on_ties():
    assert recommended_guidance(REPORT) == 2.0
    shifted = {**REPORT, "guidance": {**REPORT["guidance"], "7.5": _scores(0.9)}}
    assert recommended_guidance(shifted) == 7.5


def test_the_report_names_the_best_guidance_against_guidance_1_and_7_5():
    text = format_report(REPORT)
    assert (
        "Best guidance in the sweep: 2 (mean of the four 96%; guidance 1: 92%, guidance 7.5: 93%)"
        in text
    )
    assert "| guidance 2.0 | 100% | 84% | 100% | 100% |" in text
    assert "each prompt with 3 seeds, 192 images a row" in text
    assert "held-out pairs (96 images a row)" in text and "| guidance 1.0 | 100% | 59% |" in text
    assert "held-out combinations shape: 72% against 70%: met" in text
