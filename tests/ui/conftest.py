"""UI tests run without a display: Qt's offscreen platform draws real pixels for grab()."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# --- fixtures for the studio window and its worker (fake engine, qasync loop) ------------------

import asyncio
import threading
from collections.abc import Iterator

import pytest
import qasync
from PySide6.QtCore import QObject

from studio.core.model_roots import FoundFolder
from studio.core.paths import AppPaths
from studio.core.settings import Settings
from tests.ui.fake_engine import FakeEngine


@pytest.fixture
def qloop(qapp) -> Iterator[qasync.QEventLoop]:
    """The app's asyncio loop, running on Qt's: tasks advance whenever qtbot waits."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    executor = qasync.QThreadExecutor(4)
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    qapp.processEvents()
    # Not loop.stop()/close(): stop() calls QCoreApplication.exit(), after which every later
    # nested event loop (qtbot.waitSignal) would return at once.
    executor.shutdown(wait=True)
    qapp.aboutToQuit.disconnect(loop._after_run_forever)
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def paths(fresh_home) -> AppPaths:
    return AppPaths.from_environment()


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def make_window(qtbot, qloop, paths, fake_engine):
    """Build (and later close) main windows on the fake engine; started and shown."""
    from studio.ui.main_window import MainWindow

    windows = []

    def make(
        settings: Settings | None = None,
        engine: FakeEngine | None = None,
        found_folders: tuple[FoundFolder, ...] = (),
    ):
        """`found_folders` stand in for other apps' model folders (the real search reads the
        developer's disks)."""
        engine = engine or fake_engine
        window = MainWindow(
            paths, settings or Settings(), lambda _settings: engine, lambda: list(found_folders)
        )
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        window.start()
        qtbot.waitUntil(lambda: window.panel.model_info() is not None)
        return window

    yield make
    fake_engine.release()
    fake_engine.release_loads()
    for window in windows:
        if window.isVisible():
            window.close()
        window.deleteLater()
    qtbot.wait(10)


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture
def events(window) -> WorkerEvents:
    """What the window's worker reported, recorded on the UI thread."""
    return WorkerEvents(window.client.worker)


WORKER_SIGNALS = (
    "started",
    "progress",
    "preview",
    "finished",
    "failed",
    "cancelled",
    "models_listed",
    "model_loading",
    "model_loaded",
    "model_failed",
)


class WorkerEvents(QObject):
    """Records a worker's signals on the UI thread.

    A lambda (or qtbot.waitSignal) connected to a worker signal runs on the worker thread; a
    bound method of this QObject is queued to the UI thread, as the window's own slots are.
    """

    def __init__(self, worker: QObject) -> None:
        super().__init__()
        self.events: list[tuple[str, tuple]] = []
        self.on_ui_thread: set[bool] = set()
        for name in WORKER_SIGNALS:
            getattr(worker, name).connect(getattr(self, f"_on_{name}"))

    def _record(self, name: str, args: tuple) -> None:
        self.events.append((name, args))
        self.on_ui_thread.add(threading.current_thread() is threading.main_thread())

    # One method per signal, in the class body: Qt queues a call to a method of a QObject that
    # lives on another thread (methods added after the class is made are called directly).
    def _on_started(self, *args) -> None:
        self._record("started", args)

    def _on_progress(self, *args) -> None:
        self._record("progress", args)

    def _on_preview(self, *args) -> None:
        self._record("preview", args)

    def _on_finished(self, *args) -> None:
        self._record("finished", args)

    def _on_failed(self, *args) -> None:
        self._record("failed", args)

    def _on_cancelled(self, *args) -> None:
        self._record("cancelled", args)

    def _on_models_listed(self, *args) -> None:
        self._record("models_listed", args)

    def _on_model_loading(self, *args) -> None:
        self._record("model_loading", args)

    def _on_model_loaded(self, *args) -> None:
        self._record("model_loaded", args)

    def _on_model_failed(self, *args) -> None:
        self._record("model_failed", args)

    def args(self, name: str) -> list[tuple]:
        return [args for event, args in self.events if event == name]

    def wait(self, qtbot, name: str, count: int = 1, timeout: int = 5000) -> tuple:
        """Wait for the `count`-th `name` signal; returns its arguments."""
        qtbot.waitUntil(lambda: len(self.args(name)) >= count, timeout=timeout)
        return self.args(name)[count - 1]


# --- the real engine on the tiny model, for the end-to-end tests -------------------------------
# torch is imported inside the fixtures: the fake-engine tests never load it.

TINY_MODEL = "tiny"


def tiny_settings(**changes) -> Settings:
    """Settings for the tiny model: 64x64 (its native size), few steps, a fixed sampler."""
    base = {
        "default_model": TINY_MODEL,
        "default_steps": 4,
        "default_width": 64,
        "default_height": 64,
        "default_scheduler": "DDIM",
        "precision": "fp32",
    }
    return Settings(**{**base, **changes})


@pytest.fixture(scope="session")
def tiny_model_root(tmp_path_factory):
    """A model folder holding the tiny SD 1.x-layout model, built once per session."""
    from tests.tiny_pipeline import save_tiny_pipeline

    root = tmp_path_factory.mktemp("ui-models")
    save_tiny_pipeline(root / TINY_MODEL)
    return root


@pytest.fixture(scope="session")
def make_real_engine(tiny_model_root, tmp_path_factory):
    """Build real engines over the tiny model's folder plus `extra` folders; no embedded model.

    torch runs on one thread meanwhile: the tiny model's tensors gain nothing from more, and
    on a CPU that another process keeps busy each parallel op waits for a descheduled thread
    (measured here: 2 s a step instead of 30 ms).
    """
    import torch

    from studio.engine import Engine, ModelLibrary
    from studio.engine.devices import Placement

    no_embedded = tmp_path_factory.mktemp("no-embedded")

    def make(*extra_folders):
        library = ModelLibrary([tiny_model_root, *extra_folders], embedded_dir=no_embedded)
        return Engine(library, Placement.choose("fp32", "cpu"))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield make
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def real_engine(make_real_engine):
    """One engine for the session: loading the model is the slow part, so it stays resident."""
    return make_real_engine()


E2E_TIMEOUT = 120_000  # ms; waits end as soon as their condition holds (a busy 2-core CPU)


@pytest.fixture
def make_real_window(make_window, qtbot):
    """Windows on a real engine, with the tiny model listed, chosen and loaded."""

    def make(engine, settings: Settings | None = None):
        window = make_window(settings or tiny_settings(), engine=engine)
        qtbot.waitUntil(
            lambda: window.run_status.model_label.text().startswith("Model: "),
            timeout=E2E_TIMEOUT,
        )
        return window

    return make


@pytest.fixture
def real_window(make_real_window, real_engine):
    return make_real_window(real_engine)
