"""The last runs' timelines: kept within one budget, the oldest going first."""

from __future__ import annotations

import pytest

from studio.core.request import GenerationRequest
from studio.engine.recent_runs import RecentRuns

ONE_STEP = 2 * 4 * 8 * 8 * 4  # x0 and x_t of the tiny model's (1, 4, 8, 8) fp32 latents


def run(engine, runs: RecentRuns, key: int, steps: int = 2) -> None:
    request = GenerationRequest(
        "a red circle", model="tiny", steps=steps, seed=key, width=64, height=64
    )
    engine.generate(request, observers=[runs.start(key)])
    runs.finish(key)


def test_earlier_runs_stay_decodable_after_later_ones(engine):
    runs = RecentRuns()
    run(engine, runs, 1, steps=3)
    run(engine, runs, 2, steps=2)
    assert runs.keys() == [1, 2]
    assert runs.get(1).steps == [1, 2, 3] and runs.get(2).steps == [1, 2]
    assert runs.get(1).decode(3).size == (64, 64)
    assert not runs.get(1).latents(3).equal(runs.get(2).latents(2))


def test_over_the_budget_the_oldest_runs_go_first(engine):
    runs = RecentRuns(budget_bytes=5 * ONE_STEP)
    for key in (1, 2, 3):
        run(engine, runs, key, steps=2)
    assert runs.keys() == [2, 3] and runs.nbytes <= 5 * ONE_STEP
    with pytest.raises(KeyError, match="no longer kept"):
        runs.get(1)


def test_at_most_the_limit_of_runs_is_kept(engine):
    runs = RecentRuns(limit=2)
    for key in (1, 2, 3):
        run(engine, runs, key, steps=1)
    assert runs.keys() == [2, 3]


def test_a_run_that_recorded_nothing_is_not_kept():
    runs = RecentRuns()
    runs.start(7)
    runs.finish(7)
    assert runs.keys() == []
