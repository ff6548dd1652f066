"""`snail-studio sweep`: one grid PNG from flags with several values."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from studio.cli import main
from studio.core.sweep_grid import SWEEP_CHUNK


@pytest.fixture
def sweep(tiny_model_dir, capsys):
    def sweep(*args: str) -> tuple[int, str, str]:
        base = ["sweep", "--model-dir", str(tiny_model_dir), "--model", "tiny", "--steps", "2"]
        status = main([*base, "--width", "64", "--height", "64", *args])
        out, err = capsys.readouterr()
        return status, out, err

    return sweep


def test_guidance_by_seed_makes_a_labelled_grid(sweep, tmp_path):
    out = tmp_path / "grid.png"
    status, stdout, err = sweep(
        "--prompt", "a cat", "--guidance", "1,3,7.5,15", "--seed", "1,2", "--out", str(out)
    )
    assert status == 0, err
    assert stdout.strip() == str(out)
    with Image.open(out) as grid:
        axes = json.loads(grid.text[SWEEP_CHUNK])
        assert grid.width > 4 * 192 and grid.height > 2 * 192
    assert axes["x"]["values"] == [1.0, 3.0, 7.5, 15.0]
    assert axes["y"]["values"] == [1, 2]
    assert axes["base"]["steps"] == 2 and axes["base"]["model"] == "tiny"


def test_the_guidance_table_preset_needs_no_axes(sweep, tmp_path):
    out = tmp_path / "table.png"
    status, _, err = sweep(
        "--prompt", "a cat", "--seed", "4", "--preset", "guidance-table", "--out", str(out)
    )
    assert status == 0, err
    with Image.open(out) as grid:
        axes = json.loads(grid.text[SWEEP_CHUNK])
    assert axes["x"]["values"] == [1.0, 3.0, 7.5, 15.0, 30.0]
    assert axes["y"]["values"] == [4, 5, 6]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--guidance", "7"], "give at least one flag several values"),
        (["--guidance", "1,2", "--seed", "1,2", "--steps", "2,3"], "two axes, got 3"),
    ],
)
def test_a_bad_sweep_exits_2_with_one_line(sweep, tmp_path, args, message):
    status, _, err = sweep("--prompt", "a cat", "--out", str(tmp_path / "g.png"), *args)
    assert status == 2
    assert message in err
