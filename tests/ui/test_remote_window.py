"""The window on two ComfyUI servers (fakes here): queued jobs run on both at once."""

from __future__ import annotations

import pytest

from studio.core.request import GenerationRequest
from studio.core.settings import Settings
from studio.remote import ComfyBackend, ServerConfig
from studio.ui.job_queue import JobQueue
from tests.remote.fake_comfy import FakeComfy

TIMEOUT = 20_000
MODEL = "sd15.safetensors"


@pytest.fixture
def servers():
    fakes = [FakeComfy().start(), FakeComfy().start()]
    yield fakes
    for fake in fakes:
        fake.scenario.release.set()
        fake.stop()


def test_the_queue_takes_as_many_jobs_as_the_backend_runs(qapp):
    queue = JobQueue()
    jobs = [queue.add(_request()) for _ in range(3)]
    queue.capacity = 2
    assert [queue.start_next(), queue.start_next(), queue.start_next()] == [*jobs[:2], None]
    assert queue.running is jobs[0] and queue.running_jobs == jobs[:2]
    queue.finish(jobs[0].id)
    assert queue.start_next() is jobs[2] and queue.running is jobs[1]
    assert queue.cancel_running()
    assert all(job.cancel.is_set() for job in jobs[1:]) and not jobs[0].cancel.is_set()
    assert not queue.cancel_running()  # nothing left to cancel


def test_queued_jobs_are_spread_over_the_servers(make_window, qtbot, servers):
    backend = ComfyBackend([ServerConfig(fake.url, "") for fake in servers])
    window = make_window(Settings(), engine=backend)
    assert window.queue.capacity == 2
    for fake in servers:
        fake.scenario.hold_at_step = 2
    window.panel.prompt.setPlainText("a snail on a leaf")
    window.panel.steps.setValue(3)
    for _ in range(4):
        window.generate()

    # Both servers hold a job after step 1 at the same time; the other two jobs wait.
    qtbot.waitUntil(lambda: all(len(fake.prompts) == 1 for fake in servers), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: sum("step 1/3 on" in d for d in _details(window)) == 2, timeout=TIMEOUT)
    assert len(window.queue.running_jobs) == 2 and len(window.queue.waiting) == 2
    names = {ServerConfig(fake.url, "").name for fake in servers}
    shown = {detail.split(" on ")[1].split(" \u00b7")[0] for detail in _details(window)[:2]}
    assert shown == names

    for fake in servers:
        fake.scenario.hold_at_step = None
        fake.scenario.release.set()
    qtbot.waitUntil(lambda: len(window.queue) == 0, timeout=TIMEOUT)
    assert [len(fake.prompts) for fake in servers] == [2, 2]
    qtbot.waitUntil(lambda: len(window.history.entries()) == 4, timeout=TIMEOUT)
    assert all(entry.path.is_file() for entry in window.history.entries())


def _request():
    return GenerationRequest("a snail", model=MODEL)


def _details(window) -> list[str]:
    """The queue panel's rows' second lines ("Running step 2/3 on host:port · #1 · ...")."""
    panel = window.queue_panel
    return [
        panel.list.itemWidget(panel.list.item(row)).detail.full_text()
        for row in range(panel.list.count())
    ]
