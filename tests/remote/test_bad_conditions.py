"""Each bad condition gives one clear line, the backend keeps working, and no secret leaks."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace

import pytest
from PIL import Image

from studio.core.errors import ModelError, ServerError, ServerUnavailableError
from studio.core.history import HistoryStore
from studio.core.outputs import save_result
from studio.core.request import GenerationRequest
from tests.remote.conftest import MODEL

REQUEST = GenerationRequest(prompt="a snail", model=MODEL, steps=3, seed=10, width=64, height=64)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and len(text) < 400
    return text


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_server(make_backend):
    backend = make_backend(f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(ServerUnavailableError) as exc:
        backend.models()
    assert "cannot connect" in _one_line(exc)


def test_refused_for_a_wrong_token_without_showing_it(make_backend, fake):
    fake.scenario.token = "right-token"
    with pytest.raises(ServerUnavailableError) as exc:
        make_backend(fake, token="wrong-token").models()
    assert "refused (401)" in _one_line(exc) and "token" in str(exc.value)
    assert "wrong-token" not in str(exc.value)
    assert len(make_backend(fake, token="right-token").models()) == 2


def test_slow_server(make_backend, fake):
    fake.scenario.http_delay = 1.0
    with pytest.raises(ServerUnavailableError) as exc:
        make_backend(fake, timeout=0.3).models()
    assert "no answer to /object_info/CheckpointLoaderSimple within 0.3 s" in _one_line(exc)


def test_a_model_on_no_server_is_named_before_anything_is_sent(backend, fake):
    with pytest.raises(ModelError) as exc:
        backend.generate(replace(REQUEST, model="elsewhere.safetensors"))
    assert "'elsewhere.safetensors' is on none of the servers (they have: sd15" in _one_line(exc)
    assert not fake.prompts


def test_a_model_added_after_the_last_listing_is_found(backend, fake):
    backend.models()
    fake.checkpoints.append("new.safetensors")
    assert backend.generate(replace(REQUEST, model="new.safetensors")).images


def test_unknown_node_is_rejected_with_the_servers_reason(backend, fake):
    fake.scenario.unknown_nodes = {"KSampler"}
    with pytest.raises(ServerError) as exc:
        backend.generate(REQUEST)
    assert "rejected the workflow: Cannot execute because node KSampler does not exist" in (
        _one_line(exc)
    )
    fake.scenario.unknown_nodes = set()
    assert backend.generate(REQUEST).images  # the backend keeps working


def test_a_model_the_server_lists_but_refuses_is_rejected_naming_it(backend, fake):
    fake.scenario.invalid_models = {MODEL}
    with pytest.raises(ServerError) as exc:
        backend.generate(REQUEST)
    text = _one_line(exc)
    assert "Prompt outputs failed validation: CheckpointLoaderSimple" in text
    assert f"'{MODEL}' not in" in text


def test_runtime_error_on_the_server(backend, fake):
    fake.scenario.runtime_error = True
    with pytest.raises(ServerError) as exc:
        backend.generate(REQUEST)
    assert "KSampler failed: Input and output sizes should be greater than 0" in _one_line(exc)
    fake.scenario.runtime_error = False
    assert backend.generate(REQUEST).images


def test_broken_image_from_the_server(backend, fake):
    fake.scenario.broken_image = True
    with pytest.raises(ServerError) as exc:
        backend.generate(REQUEST)
    assert "returned a broken image (snail-studio_00001_.png)" in _one_line(exc)


def test_websocket_closing_mid_job_reconnects_and_the_job_finishes(backend, fake):
    fake.scenario.close_sockets_at_step = 2
    fake.scenario.step_delay = 0.3  # later steps come after the client is back
    updates = []
    result = backend.generate(replace(REQUEST, steps=6), on_step=updates.append)
    assert result.images and len(fake.prompts) == 1  # not re-run: it finished there
    assert updates[-1].step == 6  # progress resumed on the new socket


def test_a_server_that_goes_away_mid_job_is_reported_naming_the_image(backend, fake):
    fake.scenario.die_at_step = 2
    with pytest.raises(ServerUnavailableError) as exc:
        backend.generate(REQUEST)
    text = _one_line(exc)
    assert text.startswith("image 1 (seed 10) not made: ")
    assert fake.url.removeprefix("http://") in text


def test_no_secret_in_logs_or_pngs(make_backend, fake, caplog, tmp_path):
    fake.scenario.token = "tok-9f8e7d"
    caplog.set_level(logging.DEBUG)
    backend = make_backend(fake, token="tok-9f8e7d")
    result = backend.generate(REQUEST)
    entries = save_result(result, tmp_path, HistoryStore(tmp_path / "h.sqlite"))
    paths = [entry.path for entry in entries]
    assert all(h.get("Authorization") == "Bearer tok-9f8e7d" for h in fake.headers)
    assert "tok-9f8e7d" not in caplog.text
    assert b"tok-9f8e7d" not in paths[0].read_bytes()
    assert Image.open(paths[0]).info["prompt"] == result.png_text[0]["prompt"]


def test_a_failed_image_stops_the_rest_of_its_batch(backend, fake):
    fake.scenario.runtime_error = True
    with pytest.raises(ServerError, match="KSampler failed"):
        backend.generate(replace(REQUEST, batch_size=4))
    assert len(fake.prompts) == 1  # the other three were never sent
