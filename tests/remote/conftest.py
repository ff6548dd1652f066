"""A fake ComfyUI server per test, and a backend pointed at it with short time limits."""

from __future__ import annotations

import pytest
from PIL import Image

from studio.remote import ComfyBackend, ServerConfig
from studio.remote.job import JobLimits
from tests.remote.fake_comfy import FakeComfy

MODEL = "sd15.safetensors"


@pytest.fixture
def fake():
    server = FakeComfy().start()
    yield server
    server.scenario.release.set()
    server.stop()


@pytest.fixture
def make_backend():
    made: list[ComfyBackend] = []

    def make(*servers: FakeComfy | str, token: str = "", timeout: float = 3.0) -> ComfyBackend:
        urls = [s if isinstance(s, str) else s.url for s in servers]
        backend = ComfyBackend(
            [ServerConfig(url, token) for url in urls],
            timeout=timeout,
            limits=JobLimits(lost_after=1.5),
        )
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def backend(fake, make_backend):
    return make_backend(fake)


@pytest.fixture
def picture():
    image = Image.new("RGB", (64, 64), "navy")
    image.paste((250, 200, 0), (8, 8, 40, 40))
    return image


@pytest.fixture
def square_mask():
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    return mask
