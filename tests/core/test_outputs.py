"""Saving a finished generation: files, names, metadata and history together."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

import pytest
from PIL import Image

from studio.core.history import HistoryStore
from studio.core.metadata import read_png_request
from studio.core.outputs import next_counter, save_result
from studio.core.request import GenerationRequest
from studio.core.results import GenerationResult

NAME = re.compile(r"^(\d{8})-(\d{6})-(\d{5})-(\d+)\.png$")
REQUEST = GenerationRequest(prompt="three snails", seed=100, width=32, height=24, batch_size=3)


def _result(seeds: list[int], model_name: str = "Snail Mini") -> GenerationResult:
    colours = ["red", "green", "blue", "white", "black"]
    images = [Image.new("RGB", (32, 24), colours[i % 5]) for i in range(len(seeds))]
    return GenerationResult(
        request=REQUEST, images=images, seeds=seeds, timings={"total": 2.5}, model_name=model_name
    )


@pytest.fixture
def history(tmp_path):
    return HistoryStore(tmp_path / "history.sqlite")


def test_writes_each_image_and_records_it(tmp_path, history):
    outputs = tmp_path / "not" / "yet" / "there"
    saved = save_result(_result([100, 101, 102]), outputs, history)
    paths = [entry.path for entry in saved]

    assert len(paths) == 3
    assert sorted(outputs.iterdir()) == sorted(paths)  # no temp files left behind
    for path, seed, colour in zip(paths, [100, 101, 102], ["red", "green", "blue"], strict=True):
        match = NAME.match(path.name)
        assert match, path.name
        assert int(match[4]) == seed
        with Image.open(path) as image:
            assert image.getpixel((0, 0)) == Image.new("RGB", (1, 1), colour).getpixel((0, 0))
        assert read_png_request(path) == replace(REQUEST, seed=seed)

    # In the database before save_result returned, newest first.
    entries = history.entries()
    assert entries == list(reversed(saved))  # what it returned is what the database holds
    assert [e.path for e in entries] == list(reversed(paths))
    assert [e.seed for e in entries] == [102, 101, 100]
    assert {e.model for e in entries} == {"Snail Mini"}
    assert {e.duration for e in entries} == {2.5}


def test_model_name_falls_back_to_the_request_model(tmp_path, history):
    (entry,) = save_result(_result([5], model_name=""), tmp_path, history)
    path = entry.path
    assert history.entries()[0].model == REQUEST.model
    assert f"Model: {REQUEST.model}" in Image.open(path).info["parameters"]


def test_names_sort_in_save_order_and_never_collide(tmp_path, history):
    # Same seed, same second: the counter keeps them apart and in order.
    first = save_result(_result([7, 7]), tmp_path, history)
    second = save_result(_result([7]), tmp_path, history)
    names = [e.path.name for e in first + second]
    assert len(set(names)) == 3
    assert sorted(names) == names
    counters = [int(NAME.match(n)[3]) for n in names]
    assert counters == [1, 2, 3]
    assert history.count() == 3


def test_counter_continues_from_existing_files(tmp_path, history):
    (tmp_path / "20200101-000000-00041-5.png").write_bytes(b"")
    (tmp_path / "unrelated-99999.png").write_bytes(b"")
    assert next_counter(tmp_path) == 42
    (entry,) = save_result(_result([1]), tmp_path, history)
    assert NAME.match(entry.path.name)[3] == "00042"


def test_next_counter_of_a_missing_folder(tmp_path):
    assert next_counter(tmp_path / "nope") == 1


def test_concurrent_saves_get_distinct_files(tmp_path, history):
    results: list[list] = []

    def save() -> None:
        results.append(save_result(_result([3, 3]), tmp_path, history))

    threads = [threading.Thread(target=save) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    paths = [e.path for batch in results for e in batch]
    assert len(paths) == len(set(paths)) == 8
    assert history.count() == 8


def test_images_and_seeds_must_pair_up(tmp_path, history):
    broken = replace(_result([1, 2]), seeds=[1])
    with pytest.raises(ValueError, match="2 images but 1 seeds"):
        save_result(broken, tmp_path, history)
    assert history.count() == 0
    assert list(tmp_path.glob("*.png")) == []


def test_a_servers_png_text_goes_into_each_image_beside_ours(tmp_path, history):
    result = replace(
        _result([100, 101]),
        png_text=[{"prompt": '{"3": 1}', "workflow": "{}"}, {"prompt": '{"3": 2}'}],
    )
    paths = [entry.path for entry in save_result(result, tmp_path, history)]

    first, second = (Image.open(path).info for path in paths)
    assert (first["prompt"], first["workflow"]) == ('{"3": 1}', "{}")
    assert second["prompt"] == '{"3": 2}' and "workflow" not in second
    assert read_png_request(paths[1]).seed == 101  # our own chunks are still there
