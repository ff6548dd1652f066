"""The engine worker on its QThread, driven through WorkerClient with the fake engine."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage

from studio.core.errors import RequestError
from studio.core.history import HistoryStore
from studio.core.metadata import read_png_request
from studio.core.request import GenerationRequest, Mode
from studio.core.settings import Settings
from studio.ui.job_queue import JobQueue
from studio.ui.qt_images import qimage_to_pil
from studio.ui.worker import WorkerClient
from tests.ui.conftest import WorkerEvents

TIMEOUT = 20_000  # a wait, not a timing claim: generous for a loaded 2-core machine


@pytest.fixture
def client(qtbot, paths, fake_engine):
    made: list[str] = []

    def factory(_settings: Settings):
        made.append(threading.current_thread().name)
        return fake_engine

    client = WorkerClient(factory, Settings(), paths)
    client.factory_threads = made
    client.start()
    yield client
    fake_engine.release()
    fake_engine.release_loads()
    assert client.shutdown(TIMEOUT)


@pytest.fixture
def events(client) -> WorkerEvents:
    return WorkerEvents(client.worker)


def job(request: GenerationRequest | None = None):
    return JobQueue().add(request or GenerationRequest("a snail", steps=4, seed=7))


def test_generate_reports_steps_and_saves_before_finishing(
    qtbot, client, events, fake_engine, paths
):
    j = job()
    client.submit(j)
    job_id, done = events.wait(qtbot, "finished")
    saved = done.outcome.paths
    assert job_id == j.id
    assert events.args("started") == [(j.id,)]
    assert [u.step for (_, u) in events.args("progress")] == [1, 2, 3, 4]
    previews = [image for (_, image) in events.args("preview")]
    assert len(previews) == 4 and all(isinstance(p, QImage) and not p.isNull() for p in previews)
    assert len(saved) == 1 and saved[0].is_file()
    assert saved[0].parent == paths.outputs_dir
    assert read_png_request(saved[0]).prompt == "a snail"
    assert HistoryStore(paths.history_db).entries() == done.outcome.entries
    # The whole result comes back in memory: the image as drawn, its seed and history entry.
    assert done.outcome.seeds == [7]
    assert len(done.images) == 1 and done.images[0].size().toTuple() == (256, 256)
    assert np.array_equal(
        np.asarray(qimage_to_pil(done.images[0])), np.asarray(Image.open(saved[0]).convert("RGB"))
    )
    # The engine was built and used off the UI thread; the UI got every signal on its own.
    assert threading.main_thread().name not in fake_engine.threads
    assert client.factory_threads and threading.main_thread().name not in client.factory_threads
    assert events.on_ui_thread == {True}


def test_batch_saves_every_image(qtbot, client, events):
    client.submit(job(GenerationRequest("two", steps=2, seed=1, batch_size=2)))
    _job_id, done = events.wait(qtbot, "finished")
    assert [p.name.rsplit("-", 1)[1] for p in done.outcome.paths] == ["1.png", "2.png"]
    assert [e.seed for e in done.outcome.entries] == [1, 2] and len(done.images) == 2


def test_failure_is_reported_and_next_job_works(qtbot, client, events, fake_engine):
    fake_engine.fail_next(RequestError("steps must be positive"))
    client.submit(job())
    assert events.wait(qtbot, "failed")[1] == "steps must be positive"
    client.submit(job())
    events.wait(qtbot, "finished")


def test_unexpected_error_gives_a_readable_message(qtbot, client, events, fake_engine):
    fake_engine.fail_next(RuntimeError("out of memory"))
    client.submit(job())
    message = events.wait(qtbot, "failed")[1]
    assert "out of memory" in message and "RuntimeError" in message


def test_cancel_mid_run_from_the_ui_thread(qtbot, client, events, fake_engine):
    fake_engine.hold(at_step=2)
    j = job()
    client.submit(j)
    qtbot.waitUntil(fake_engine.holding.is_set, timeout=TIMEOUT)
    j.cancel.set()  # directly, not queued behind the running job
    assert events.wait(qtbot, "cancelled") == (j.id,)
    assert events.args("finished") == []


def test_job_cancelled_before_it_starts_never_runs(qtbot, client, events, fake_engine):
    j = job()
    j.cancel.set()
    client.submit(j)
    events.wait(qtbot, "cancelled")
    assert fake_engine.requests == [] and events.args("started") == []


def test_models_listed_embedded_first(qtbot, client, events):
    client.list_models()
    (models,) = events.wait(qtbot, "models_listed")
    assert models[0].embedded and models[0].id == "snail-mini"
    assert {m.id for m in models} == {"snail-mini", "other-sd15"}


def test_model_switch_loads_in_the_worker_with_status(qtbot, client, events, fake_engine):
    fake_engine.hold_loads()
    client.load_model("other-sd15")
    assert events.wait(qtbot, "model_loading") == ("other-sd15",)
    assert events.args("model_loaded") == []  # still loading, and the UI thread is free
    fake_engine.release_loads()
    assert events.wait(qtbot, "model_loaded")[0].id == "other-sd15"
    assert threading.main_thread().name not in fake_engine.threads


def test_unknown_model_fails_with_message_and_keeps_the_loaded_one(qtbot, client, events):
    client.load_model("snail-mini")
    events.wait(qtbot, "model_loaded")
    client.load_model("nope")
    assert "nope" in events.wait(qtbot, "model_failed")[0]
    assert events.wait(qtbot, "model_loaded", count=2)[0].id == "snail-mini"


def test_generate_loads_the_requested_model_first(qtbot, client, events, fake_engine):
    client.submit(job(GenerationRequest("x", model="other-sd15", steps=1, seed=1)))
    events.wait(qtbot, "finished")
    assert events.args("model_loading") == [("other-sd15",)]
    assert fake_engine.loaded == "other-sd15"


def test_engine_that_cannot_start_fails_the_job(qtbot, paths):
    def broken(_settings: Settings):
        raise ImportError("No module named 'torch'")

    client = WorkerClient(broken, Settings(), paths)
    events = WorkerEvents(client.worker)
    client.start()
    try:
        client.submit(job())
        assert events.wait(qtbot, "failed")[1].startswith("The engine could not start")
    finally:
        assert client.shutdown(TIMEOUT)


def test_inpaint_result_keeps_pixels_outside_the_mask(qtbot, client, events):
    init = Image.new("RGB", (64, 64), (10, 200, 30))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))
    request = GenerationRequest(
        "fill", mode=Mode.INPAINT, steps=2, seed=3, init_image=init, mask=mask, mask_feather=0
    )
    client.submit(job(request))
    _job_id, done = events.wait(qtbot, "finished")
    with Image.open(done.outcome.paths[0]) as result:
        assert result.size == (64, 64)
        assert result.getpixel((48, 10)) == (10, 200, 30)
        assert result.getpixel((10, 10)) != (10, 200, 30)
