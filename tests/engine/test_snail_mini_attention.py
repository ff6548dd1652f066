"""On snail-mini, a word's attention map is hot where that thing is in the picture."""

from __future__ import annotations

import json

import pytest

from studio.cli import main
from studio.core.request import GenerationRequest
from studio.engine.attention import AttentionRecorder

PROMPT = "a red circle at the left on a blue background"


@pytest.fixture(scope="module")
def engine():
    from studio.engine import Engine, ModelLibrary
    from studio.engine.devices import Placement

    return Engine(ModelLibrary(), Placement.choose("fp32", "cpu"))


@pytest.mark.parametrize("seed", [1, 2])
def test_circle_is_hot_on_the_left(engine, seed):
    recorder = AttentionRecorder()
    engine.generate(GenerationRequest(PROMPT, seed=seed), observers=[recorder])
    circle = next(w for w in recorder.word_maps(PROMPT) if w.word == "circle")
    third = circle.heat.shape[1] // 3
    left, right = circle.heat[:, :third].mean(), circle.heat[:, -third:].mean()
    assert left > 0.3 > 0.15 > right, (left, right)


def test_one_step_from_the_middle_of_the_run_already_knows(engine):
    recorder = AttentionRecorder()
    engine.generate(GenerationRequest(PROMPT, seed=3, steps=20), observers=[recorder])
    circle = next(w for w in recorder.word_maps(PROMPT, step=10) if w.word == "circle")
    third = circle.heat.shape[1] // 3
    assert circle.heat[:, :third].mean() > 2 * circle.heat[:, -third:].mean()


def test_the_cli_index_puts_the_circles_hottest_point_on_the_left(tmp_path, capsys):
    folder = tmp_path / "maps"
    status = main(
        [
            "generate",
            "--prompt",
            PROMPT,
            "--seed",
            "1",
            "--out",
            str(tmp_path / "c.png"),
            "--attention",
            str(folder),
        ]
    )
    assert status == 0, capsys.readouterr().err
    words = {w["word"]: w for w in json.loads((folder / "index.json").read_text())["words"]}
    assert words["circle"]["hottest"][0] < 0.4
