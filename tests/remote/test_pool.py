"""Many servers: jobs spread over every server with the model; a dropped server loses nothing."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from studio.core.request import GenerationRequest
from tests.remote.conftest import MODEL
from tests.remote.fake_comfy import FakeComfy

REQUEST = GenerationRequest(prompt="a snail", model=MODEL, steps=3, seed=10, width=64, height=64)


@pytest.fixture
def second():
    server = FakeComfy().start()
    yield server
    server.stop()


def _name(server: FakeComfy) -> str:
    return server.url.removeprefix("http://")


def test_a_batch_is_split_between_two_servers(make_backend, fake, second):
    fake.scenario.step_delay = second.scenario.step_delay = 0.05
    backend = make_backend(fake, second)
    result = backend.generate(replace(REQUEST, batch_size=4))
    assert result.seeds == [10, 11, 12, 13]
    assert [image.getpixel((0, 0))[0] for image in result.images] == [10, 11, 12, 13]
    assert len(fake.prompts) >= 1 and len(second.prompts) >= 1
    assert len(fake.prompts) + len(second.prompts) == 4
    assert set(result.workers) == {_name(fake), _name(second)}


def test_jobs_go_only_to_servers_that_have_the_model(make_backend, fake):
    other = FakeComfy(checkpoints=("other.safetensors",)).start()
    try:
        backend = make_backend(fake, other)
        backend.generate(replace(REQUEST, batch_size=2))
        assert len(fake.prompts) == 2 and not other.prompts
        assert {m.id for m in backend.models()} >= {MODEL, "other.safetensors"}
    finally:
        other.stop()


def test_a_server_stopping_mid_run_has_its_job_rerun_on_the_other(make_backend, fake, second):
    fake.scenario.step_delay = second.scenario.step_delay = 0.05
    fake.scenario.die_at_step = 2
    backend = make_backend(fake, second)
    updates = []
    result = backend.generate(replace(REQUEST, batch_size=3), on_step=updates.append)
    assert result.seeds == [10, 11, 12] and len(result.images) == 3
    assert [image.getpixel((0, 0))[0] for image in result.images] == [10, 11, 12]
    assert result.workers == [_name(second)] * 3  # everything made after the drop ran there
    assert updates[-1].step == updates[-1].total == 9


def test_a_server_down_at_the_start_is_skipped(make_backend, fake, second):
    backend = make_backend(fake, second)
    backend.models()
    second.stop()
    started = time.monotonic()
    result = backend.generate(replace(REQUEST, batch_size=2))
    assert result.workers == [_name(fake)] * 2
    assert time.monotonic() - started < 2.5  # a refused connection is not waited out (3 s)


def test_a_server_that_failed_gets_no_new_jobs_while_another_works(make_backend, fake, second):
    backend = make_backend(fake, second)
    backend.models()
    second.stop()
    backend.generate(replace(REQUEST, batch_size=2))  # one job tries the stopped server
    tried = dict(backend.pool.jobs_run)
    assert tried[_name(second)] == 1
    backend.generate(replace(REQUEST, batch_size=3))
    assert backend.pool.jobs_run[_name(second)] == tried[_name(second)]
    assert len(fake.prompts) == 5
