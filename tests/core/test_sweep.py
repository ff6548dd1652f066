"""Sweep definitions (replace of one request per cell) and their labelled grid PNG."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import RequestError
from studio.core.metadata import PARAMETERS_CHUNK
from studio.core.request import GenerationRequest
from studio.core.sweep import AxisKind, Sweep, SweepAxis, guidance_table
from studio.core.sweep_grid import SWEEP_CHUNK, render_grid, save_grid

BASE = GenerationRequest("a red circle at the left", seed=5, steps=12)


def test_cells_replace_one_field_each_row_by_row():
    sweep = Sweep(
        BASE,
        SweepAxis.parse(AxisKind.GUIDANCE, "1,7.5"),
        SweepAxis.parse(AxisKind.SAMPLER, "DDIM,Euler a,UniPC"),
    )
    assert sweep.shape == (3, 2)
    assert sweep.varies(AxisKind.SAMPLER) and not sweep.varies(AxisKind.SEED)
    cells = sweep.cells()
    assert [(c.row, c.column) for c in cells][:3] == [(0, 0), (0, 1), (1, 0)]
    assert [(c.request.scheduler, c.request.guidance_scale) for c in cells[:3]] == [
        ("DDIM", 1.0),
        ("DDIM", 7.5),
        ("Euler a", 1.0),
    ]
    assert all(c.request.prompt == BASE.prompt and c.request.steps == 12 for c in cells)
    assert sweep.column_labels() == ["CFG 1", "CFG 7.5"]
    assert sweep.row_labels() == ["DDIM", "Euler a", "UniPC"]


def test_prompt_search_and_replace_starts_with_the_prompt_as_written():
    sweep = Sweep(BASE, SweepAxis.parse(AxisKind.PROMPT, "red,blue,green"))
    assert [c.request.prompt for c in sweep.cells()] == [
        "a red circle at the left",
        "a blue circle at the left",
        "a green circle at the left",
    ]
    missing = Sweep(BASE, SweepAxis.parse(AxisKind.PROMPT, "purple,blue"))
    with pytest.raises(RequestError, match="does not contain 'purple'"):
        missing.validate()


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ((AxisKind.SEED, "1,2"), (AxisKind.SEED, "3,4"), "both axes vary seed"),
        ((AxisKind.STEPS, "10,x"), None, "steps values must be numbers"),
        ((AxisKind.GUIDANCE, "1,99"), None, "guidance scale must be between"),
        (
            (AxisKind.SEED, ",".join(map(str, range(9)))),
            (AxisKind.STEPS, "1,2,3,4,5,6,7,8"),
            "at most 64 images",
        ),
    ],
)
def test_bad_sweeps_are_refused_with_a_reason(x, y, message):
    with pytest.raises(RequestError, match=message):
        Sweep(BASE, SweepAxis.parse(*x), SweepAxis.parse(*y) if y else None).validate()


def test_a_random_seed_becomes_one_seed_for_every_cell():
    sweep = Sweep(GenerationRequest("a cat"), SweepAxis.parse(AxisKind.GUIDANCE, "1,2"))
    assert {c.request.seed for c in sweep.with_seed(42).cells()} == {42}
    assert Sweep(BASE, sweep.x).with_seed(42).base.seed == 5


def test_the_guidance_table_runs_muted_to_burnt_across_three_seeds():
    sweep = guidance_table(BASE)
    assert sweep.column_labels() == ["CFG 1", "CFG 3", "CFG 7.5", "CFG 15", "CFG 30"]
    assert sweep.row_labels() == ["seed 5", "seed 6", "seed 7"]
    sweep.validate()


def _tiles(sweep: Sweep) -> list[Image.Image]:
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200)]
    return [Image.new("RGB", (64, 64), colours[i % 5]) for i in range(len(sweep.cells()))]


def test_the_grid_places_each_cell_under_its_label_and_stores_its_parameters(tmp_path):
    sweep = Sweep(
        BASE, SweepAxis.parse(AxisKind.GUIDANCE, "1,3,7.5"), SweepAxis.parse(AxisKind.SEED, "1,2")
    )
    grid = render_grid(sweep, _tiles(sweep), "Snail Mini")
    pixels = np.asarray(grid)
    # 64 px tiles are scaled to 192: three columns, two rows, plus labels and a footer.
    assert grid.width > 3 * 192 and grid.height > 2 * 192
    label_band = pixels[:20]
    assert (label_band < 100).any()  # column labels drawn in dark ink

    def columns_of(colour: tuple[int, int, int]) -> list[int]:
        return [c for c in range(grid.width) if (pixels[:, c] == colour).all(-1).sum() >= 192]

    green, red = columns_of((30, 200, 30)), columns_of((200, 30, 30))
    assert len(green) == 192  # cell (0, 1) only
    assert len(red) == 2 * 192  # cells (0, 0) and (1, 2): the first and last columns
    assert red[0] < green[0] < green[-1] < red[-1]
    path = save_grid(grid, tmp_path / "grid.png", sweep, "Snail Mini")
    with Image.open(path) as saved:
        assert saved.size == grid.size
        assert "CFG scale: 7.5" in saved.text[PARAMETERS_CHUNK]
        axes = json.loads(saved.text[SWEEP_CHUNK])
    assert axes["x"] == {"kind": "guidance", "values": [1.0, 3.0, 7.5]}
    assert axes["y"] == {"kind": "seed", "values": [1, 2]}


def test_the_grid_needs_an_image_per_cell():
    sweep = Sweep(BASE, SweepAxis.parse(AxisKind.GUIDANCE, "1,3"))
    with pytest.raises(ValueError, match="needs 2 images"):
        render_grid(sweep, _tiles(sweep)[:1])
