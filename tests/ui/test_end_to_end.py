"""The studio window on the real engine (torch + diffusers) with the tiny model, end to end.

Every job runs through the real worker thread, engine, pipelines and output files; only the
moment a test acts mid-run is made deterministic, by holding the worker inside the engine's
step callback (`StepGate`) instead of racing a fast CPU run.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QSize, Qt

from studio.core.history import HistoryStore
from studio.core.metadata import read_png_request
from studio.core.request import Mode
from studio.ui import tasks
from studio.ui.qt_images import qimage_to_pil
from tests.ui.conftest import E2E_TIMEOUT, TINY_MODEL, WorkerEvents

pytestmark = pytest.mark.slow
CTRL = Qt.KeyboardModifier.ControlModifier
STEPS = 4  # tiny_settings' default
UI_TIMEOUT = 10_000  # ms, for what needs only the UI thread to catch up (the worker is held)


class StepGate:
    """Holds the worker thread inside the engine's step callback when it reports `at_step`.

    Connected directly, so it runs on the worker thread as the engine reports the step (the
    window's own queued slots get the step first). Leaving the `with` block opens the gate.
    """

    def __init__(self, window, at_step: int) -> None:
        self.at_step = at_step
        self.reached = threading.Event()
        self._open = threading.Event()
        window.client.worker.progress.connect(self._on_progress, Qt.ConnectionType.DirectConnection)

    def _on_progress(self, _job_id, update) -> None:
        if update.step == self.at_step and not self._open.is_set():
            self.reached.set()
            self._open.wait(E2E_TIMEOUT / 1000)

    def wait_reached(self, qtbot) -> None:
        qtbot.waitUntil(self.reached.is_set, timeout=E2E_TIMEOUT)

    def __enter__(self) -> StepGate:
        return self

    def __exit__(self, *_exc) -> None:
        self._open.set()


def idle(qtbot, window) -> None:
    """No job runs or waits, and every background task (history, result display) is done."""
    qtbot.waitUntil(lambda: len(window.queue) == 0 and tasks.pending() == 0, timeout=E2E_TIMEOUT)


def wait_job_ends(qtbot, events: WorkerEvents, count: int = 1) -> list[str]:
    """Wait until `count` jobs ended in any way; how each ended, in order."""
    ends = ("finished", "failed", "cancelled")
    qtbot.waitUntil(
        lambda: sum(name in ends for name, _args in events.events) >= count, timeout=E2E_TIMEOUT
    )
    return [name for name, _args in events.events if name in ends]


def saved_by_job(qtbot, events: WorkerEvents, count: int = 1) -> Path:
    """Wait for the `count`-th job to end, which must have finished; the PNG it saved."""
    ended = wait_job_ends(qtbot, events, count)
    assert ended[count - 1] == "finished", events.args("failed")
    return events.args("finished")[-1][1].outcome.paths[0]


def pngs(paths) -> list[Path]:
    return sorted(paths.outputs_dir.glob("*.png")) if paths.outputs_dir.is_dir() else []


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def ctrl_enter(qtbot, window) -> None:
    qtbot.keyClick(window.panel.prompt, Qt.Key.Key_Return, CTRL)


def test_typed_prompt_and_ctrl_enter_preview_every_step_then_save(
    real_window, qtbot, paths, monkeypatch
):
    window = real_window
    events = WorkerEvents(window.client.worker)
    shown_previews: list[QSize] = []
    show_preview = window.canvas.show_preview

    def record_preview(image, size=None):
        shown_previews.append(size)
        show_preview(image, size)

    monkeypatch.setattr(window.canvas, "show_preview", record_preview)
    assert window.panel.model_id() == TINY_MODEL
    qtbot.keyClicks(window.panel.prompt, "a red snail on a leaf")
    qtbot.keyClicks(window.panel.seed.field, "1234")  # typing a seed locks it
    with StepGate(window, at_step=2) as gate:
        ctrl_enter(qtbot, window)
        gate.wait_reached(qtbot)
        # Mid-run: step 1's preview is on the canvas and the status bar counts the steps.
        qtbot.waitUntil(window.canvas.has_preview, timeout=UI_TIMEOUT)
        qtbot.waitUntil(
            lambda: window.run_status.text().startswith(f"Step 2/{STEPS}"), timeout=UI_TIMEOUT
        )
        assert events.args("finished") == [] and len(window.queue) == 1
    saved = saved_by_job(qtbot, events)
    idle(qtbot, window)

    assert [update.step for (_, update) in events.args("progress")] == list(range(1, STEPS + 1))
    previews = [qimage_to_pil(image).tobytes() for (_, image) in events.args("preview")]
    assert len(previews) == STEPS and len(set(previews)) > 1  # the latents change every step
    assert shown_previews == [QSize(64, 64)] * STEPS  # stretched over the result's size
    assert pngs(paths) == [saved]
    written = read_png_request(saved)
    assert (written.prompt, written.seed, written.steps) == ("a red snail on a leaf", 1234, STEPS)
    on_disk = Image.open(saved)
    assert on_disk.size == (64, 64)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=E2E_TIMEOUT)
    assert np.array_equal(pixels(qimage_to_pil(window.canvas.image())), pixels(on_disk))
    assert not window.canvas.has_preview()
    qtbot.waitUntil(lambda: len(window.history.entries()) == 1, timeout=E2E_TIMEOUT)
    assert window.history.entries()[0].path == saved
    assert window.history.entries()[0].seed == 1234


def _source_image() -> Image.Image:
    """A smooth 64x64 gradient: nothing a random tiny model would paint by chance."""
    y, x = np.mgrid[0:64, 0:64]
    rgb = np.stack([x * 4, y * 4, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def test_inpaint_changes_only_the_painted_mask(real_window, qtbot, paths, tmp_path):
    window = real_window
    events = WorkerEvents(window.client.worker)
    source = _source_image()
    source_file = tmp_path / "input.png"
    source.save(source_file)
    window.workspace.open_file(source_file)
    qtbot.waitUntil(lambda: window.workspace.input is not None, timeout=E2E_TIMEOUT)
    window.panel.set_mode(Mode.INPAINT)
    assert window.canvas.is_mask_editing()
    painter = window.painter
    assert painter.size() == QSize(64, 64)
    painter.set_brush_size(16)
    painter.begin_stroke(QPointF(12, 32))
    painter.extend_stroke(QPointF(52, 32))
    painter.end_stroke()
    mask = np.asarray(painter.to_pil())
    painted, core = mask > 0, mask >= 128
    assert 0.1 < painted.mean() < 0.5
    window.panel.prompt.setPlainText("a grey stone")
    ctrl_enter(qtbot, window)
    saved = saved_by_job(qtbot, events)
    idle(qtbot, window)

    assert read_png_request(saved).mode is Mode.INPAINT
    change = np.abs(pixels(Image.open(saved)) - pixels(source)).max(axis=-1)
    assert change.shape == (64, 64)
    assert change[~painted].max() == 0  # outside the mask: the input's pixels, exactly
    assert change[core].mean() > 20  # inside: repainted


def test_escape_cancels_mid_run_and_the_app_stays_usable(real_window, qtbot, paths):
    window = real_window
    events = WorkerEvents(window.client.worker)
    window.panel.prompt.setPlainText("cancel me")
    with StepGate(window, at_step=2) as gate:
        ctrl_enter(qtbot, window)
        gate.wait_reached(qtbot)
        assert window.actions_.cancel.isEnabled()
        qtbot.keyClick(window.panel.prompt, Qt.Key.Key_Escape)
        assert window.queue.running.cancel.is_set()
    assert wait_job_ends(qtbot, events) == ["cancelled"]
    idle(qtbot, window)

    # The engine stopped at the step where Esc arrived, and nothing was written.
    assert [update.step for (_, update) in events.args("progress")] == [1, 2]
    assert pngs(paths) == [] and HistoryStore(paths.history_db).count() == 0
    assert window.statusBar().currentMessage() == "Cancelled"
    assert not window.canvas.has_preview()
    assert not window.actions_.cancel.isEnabled()
    assert window.panel.generate_button.text() == "Generate"
    assert window.notice.text() == ""

    window.panel.prompt.setPlainText("after the cancel")
    ctrl_enter(qtbot, window)
    saved = saved_by_job(qtbot, events, count=2)
    idle(qtbot, window)
    assert pngs(paths) == [saved]
    assert read_png_request(saved).prompt == "after the cancel"


def test_three_queued_jobs_all_finish(real_window, qtbot, paths):
    window = real_window
    events = WorkerEvents(window.client.worker)
    prompts = ["one", "two", "three"]
    with StepGate(window, at_step=1) as gate:
        for prompt in prompts:
            window.panel.prompt.setPlainText(prompt)
            ctrl_enter(qtbot, window)
        gate.wait_reached(qtbot)
        assert len(window.queue) == 3 and len(window.queue.waiting) == 2
        assert window.queue_panel.list.count() == 3
        assert window.panel.generate_button.text() == "Add to queue"
    assert wait_job_ends(qtbot, events, count=3) == ["finished"] * 3
    idle(qtbot, window)

    files = pngs(paths)
    assert len(files) == 3
    assert sorted(read_png_request(path).prompt for path in files) == sorted(prompts)
    qtbot.waitUntil(lambda: len(window.history.entries()) == 3, timeout=E2E_TIMEOUT)
    assert [entry.prompt for entry in window.history.entries()] == prompts[::-1]
    assert {entry.path for entry in window.history.entries()} == set(files)


@pytest.fixture
def broken_model_root(tiny_model_root, tmp_path) -> Path:
    """A copy of the tiny model whose UNet weights file is damaged."""
    root = tmp_path / "broken-models"
    shutil.copytree(tiny_model_root / TINY_MODEL, root / "broken")
    weights = root / "broken" / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    return root


def test_worker_failure_shows_the_message_and_the_next_job_works(
    make_real_window, make_real_engine, broken_model_root, qtbot, paths
):
    window = make_real_window(make_real_engine(broken_model_root))
    events = WorkerEvents(window.client.worker)
    model = window.panel.model
    listed = [model.itemData(i) for i in range(model.count())]
    assert sorted(filter(None, listed)) == ["broken", TINY_MODEL]  # and families' headers
    model.setCurrentIndex(model.findData("broken"))
    window.panel.prompt.setPlainText("from a broken model")
    ctrl_enter(qtbot, window)
    assert wait_job_ends(qtbot, events) == ["failed"]
    idle(qtbot, window)

    message = window.notice.text()
    assert message.startswith("Generation failed") and "cannot load model 'broken'" in message
    assert window.statusBar().currentMessage() == message
    assert pngs(paths) == [] and HistoryStore(paths.history_db).count() == 0
    assert not window.actions_.cancel.isEnabled()

    model.setCurrentIndex(model.findData(TINY_MODEL))
    window.panel.prompt.setPlainText("from the tiny model")
    ctrl_enter(qtbot, window)
    saved = saved_by_job(qtbot, events, count=2)
    idle(qtbot, window)
    assert pngs(paths) == [saved]
    assert read_png_request(saved).prompt == "from the tiny model"
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=E2E_TIMEOUT)
    assert window.run_status.model_label.text().startswith("Model: ")
