"""The window's worker on ComfyUI servers from the settings (a fake server here)."""

from __future__ import annotations

import pytest
from PIL import Image

from studio.core.request import GenerationRequest
from studio.core.settings import Settings
from studio.remote import ComfyBackend
from studio.ui.job_queue import JobQueue
from studio.ui.settings_dialog import SettingsDialog
from studio.ui.worker import WorkerClient, default_engine_factory
from tests.remote.conftest import MODEL
from tests.remote.fake_comfy import FakeComfy
from tests.ui.conftest import WorkerEvents

TIMEOUT = 20_000


@pytest.fixture
def fake():
    server = FakeComfy().start()
    yield server
    server.stop()


def test_settings_dialog_reads_one_server_a_line_with_an_optional_token(qtbot, paths):
    dialog = SettingsDialog(Settings(), paths)
    qtbot.addWidget(dialog)
    dialog.servers.setPlainText("http://a:8188\n\n  https://b:443 tok-1  \n")
    servers = dialog.settings().servers
    assert servers == [
        {"url": "http://a:8188", "token": ""},
        {"url": "https://b:443", "token": "tok-1"},
    ]
    again = SettingsDialog(dialog.settings(), paths)
    qtbot.addWidget(again)
    assert again.servers.toPlainText() == "http://a:8188\nhttps://b:443 tok-1"


def test_servers_in_the_settings_give_the_comfyui_backend():
    backend = default_engine_factory(Settings(servers=[{"url": "http://a:8188", "token": ""}]))
    assert isinstance(backend, ComfyBackend) and backend.features.remote
    backend.close()


def test_the_worker_generates_on_a_server_with_previews_and_saves(qtbot, paths, fake):
    settings = Settings(servers=[{"url": fake.url, "token": ""}])
    client = WorkerClient(default_engine_factory, settings, paths)
    events = WorkerEvents(client.worker)
    client.start()
    try:
        request = GenerationRequest("a snail", model=MODEL, steps=3, seed=5, width=64, height=64)
        client.submit(JobQueue().add(request))
        _, finished = events.wait(qtbot, "finished")
        assert [u.step for (_, u) in events.args("progress")] == [1, 2, 3]
        assert len(events.args("preview")) == 3
        assert '"KSampler"' in Image.open(finished.outcome.paths[0]).info["prompt"]
    finally:
        assert client.shutdown(TIMEOUT)
