"""The window's sight features on the real engine and the tiny model: decode a kept step,
export the timeline, attention words, and the noise lab with "denoise from here"."""

from __future__ import annotations

import threading

import pytest
from PIL import Image
from PySide6.QtCore import QSize

from studio.core.request import Mode
from tests.ui.conftest import E2E_TIMEOUT, WorkerEvents

pytestmark = pytest.mark.slow


def generate(window, qtbot, events: WorkerEvents, count: int = 1) -> None:
    window.panel.prompt.setPlainText("a red circle")
    window.generate()
    events.wait(qtbot, "finished", count, timeout=E2E_TIMEOUT)


def test_a_kept_step_decodes_at_full_size_and_the_run_exports(real_window, qtbot, tmp_path):
    window, bar = real_window, real_window.sight.bar
    events = WorkerEvents(window.client.worker)
    generate(window, qtbot, events)
    qtbot.waitUntil(bar.full.isEnabled, timeout=E2E_TIMEOUT)
    assert bar.steps() == [1, 2, 3, 4]
    bar.slider.setValue(2)
    assert bar.frame(2).size() == QSize(8, 8)  # the live preview is latent-sized
    decoded = []
    window.canvas.show_preview = lambda image, size=None: decoded.append(
        (image.size(), threading.current_thread() is threading.main_thread())
    )
    bar.full.click()
    qtbot.waitUntil(lambda: len(decoded) > 0, timeout=E2E_TIMEOUT)
    assert decoded == [(QSize(64, 64), True)]  # shown from the UI thread, never the worker
    target = tmp_path / "run.gif"
    window.sight.client.export_timeline(bar.shown_run(), target, "xt")
    qtbot.waitUntil(target.exists, timeout=E2E_TIMEOUT)
    qtbot.waitUntil(
        lambda: "Timeline written" in window.statusBar().currentMessage(), timeout=E2E_TIMEOUT
    )
    with Image.open(target) as animation:
        assert animation.n_frames == 4


def test_attention_words_arrive_after_a_run_with_attention_on(real_window, qtbot):
    window, bar = real_window, real_window.sight.bar
    events = WorkerEvents(window.client.worker)
    bar.attention.setChecked(True)
    generate(window, qtbot, events)
    qtbot.waitUntil(lambda: bar.word_names() == ["a", "red", "circle"], timeout=E2E_TIMEOUT)

    def title() -> str:
        return bar.words_row.itemAt(0).widget().text()

    assert title() == "Attention, all steps:"
    bar.slider.setValue(2)
    qtbot.waitUntil(lambda: title() == "Attention, step 2:", timeout=E2E_TIMEOUT)
    assert bar.word_names() == ["a", "red", "circle"]


def test_noise_lab_shows_frames_and_denoises_from_the_chosen_step(real_window, qtbot):
    window = real_window
    events = WorkerEvents(window.client.worker)
    generate(window, qtbot, events)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=E2E_TIMEOUT)
    window.sight.open_noise_lab()
    lab = window.sight.noise_lab
    qtbot.waitUntil(lab.slider.isEnabled, timeout=E2E_TIMEOUT)
    lab.slider.setValue(600)
    qtbot.waitUntil(lambda: not lab.image.pixmap().isNull(), timeout=E2E_TIMEOUT)
    assert "t = 600" in lab.readout.text()
    lab.denoise.click()
    events.wait(qtbot, "finished", 2, timeout=E2E_TIMEOUT)
    qtbot.waitUntil(lambda: len(window.history.entries()) == 2, timeout=E2E_TIMEOUT)
    request = window.history.entries()[0].request
    # The tiny model's DDIM over 4 steps runs 751, 501, 251, 1: t=600 is nearest 501, the
    # second step, so img2img runs three of the four: strength 0.75.
    assert (request.mode, request.strength) == (Mode.IMG2IMG, 0.75)
    lab.close()


def test_an_earlier_image_in_the_history_brings_back_its_runs_steps(real_window, qtbot):
    window, bar = real_window, real_window.sight.bar
    events = WorkerEvents(window.client.worker)
    window.panel.steps.setValue(4)
    generate(window, qtbot, events)
    first_run = bar.shown_run()
    window.panel.steps.setValue(2)
    generate(window, qtbot, events, count=2)
    qtbot.waitUntil(lambda: bar.steps() == [1, 2], timeout=E2E_TIMEOUT)
    older = window.history.entries()[-1]  # newest first
    assert older.request.steps == 4
    window.history.show_requested.emit(older)
    assert bar.shown_run() == first_run and bar.steps() == [1, 2, 3, 4]
    decoded = []
    window.canvas.show_preview = lambda image, size=None: decoded.append(image.size())
    bar.slider.setValue(3)
    decoded.clear()
    bar.full.click()
    qtbot.waitUntil(lambda: QSize(64, 64) in decoded, timeout=E2E_TIMEOUT)
    # Step 3 exists in the earlier (4-step) run only: the later one has 2 steps.
    assert window.statusBar().currentMessage() == "Step 3 (x0) decoded with the VAE"
