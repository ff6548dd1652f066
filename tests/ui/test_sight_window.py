"""The window's sight features on the fake engine: the bar during runs, the x_t toggle,
sweeps queued as one group into a grid, and the dialogs."""

from __future__ import annotations

import json
import sys

import numpy as np
from PIL import Image
from PySide6.QtCore import QSize

from studio.core.request import GenerationRequest
from studio.core.sweep import AxisKind, Sweep, SweepAxis
from studio.core.sweep_grid import SWEEP_CHUNK
from studio.ui.noise_lab_dialog import NoiseLabDialog
from studio.ui.qt_images import qimage_to_pil
from studio.ui.sight_controller import animation_filter
from studio.ui.sweep_dialog import SweepDialog

TIMEOUT = 5000


def run(window, events, qtbot, prompt: str = "a snail", count: int = 1) -> None:
    window.panel.prompt.setPlainText(prompt)
    window.generate()
    events.wait(qtbot, "finished", count, timeout=TIMEOUT)


def test_every_step_reaches_the_bar(window, events, qtbot, fake_engine):
    run(window, events, qtbot)
    bar = window.sight.bar
    qtbot.waitUntil(lambda: bar.steps() == list(range(1, 21)), timeout=TIMEOUT)
    assert bar.step() == 20
    assert not bar.full.isEnabled()  # the fake engine keeps no latents to decode


def test_the_noisy_toggle_shows_x_t_during_a_run(window, events, qtbot, fake_engine):
    shown = []
    window.canvas.show_preview = lambda image, size=None: shown.append(qimage_to_pil(image))
    window.sight.bar.noisy.setChecked(True)
    fake_engine.hold(at_step=3)
    window.panel.prompt.setPlainText("a snail")
    window.generate()
    qtbot.waitUntil(lambda: len(shown) >= 3, timeout=TIMEOUT)
    fake_engine.release()
    events.wait(qtbot, "finished", timeout=TIMEOUT)
    bar = window.sight.bar
    noisy, clean = qimage_to_pil(bar.frame(3, "xt")), qimage_to_pil(bar.frame(3, "x0"))
    assert np.array_equal(np.asarray(shown[2]), np.asarray(noisy))
    assert not np.array_equal(np.asarray(shown[2]), np.asarray(clean))


def test_a_sweep_is_queued_as_one_group_and_ends_in_a_labelled_grid(
    window, events, qtbot, fake_engine, paths
):
    base = GenerationRequest("a snail", model="snail-mini", steps=2, seed=9)
    sweep = Sweep(
        base, SweepAxis.parse(AxisKind.GUIDANCE, "1,7.5"), SweepAxis.parse(AxisKind.SEED, "1,2")
    )
    window.sight.queue_sweep(sweep)
    events.wait(qtbot, "finished", 4, timeout=TIMEOUT)
    requests = fake_engine.requests[-4:]
    assert [(r.guidance_scale, r.seed) for r in requests] == [
        (1.0, 1),
        (7.5, 1),
        (1.0, 2),
        (7.5, 2),
    ]
    qtbot.waitUntil(lambda: window.sight.compare is not None, timeout=TIMEOUT)
    items = window.sight.compare.compare_view().items()
    assert [item.title for item in items] == [
        "CFG 1 \u00b7 seed 1",
        "CFG 7.5 \u00b7 seed 1",
        "CFG 1 \u00b7 seed 2",
        "CFG 7.5 \u00b7 seed 2",
    ]
    grids = sorted(paths.outputs_dir.glob("sweep-*.png"))
    assert len(grids) == 1
    with Image.open(grids[0]) as grid:
        axes = json.loads(grid.text[SWEEP_CHUNK])
        assert grid.width > 2 * 256
    assert axes["x"]["values"] == [1.0, 7.5]
    assert window.canvas.image().size() == QSize(*Image.open(grids[0]).size)


def test_the_sweep_dialog_builds_the_sweep_and_explains_a_bad_one(qtbot):
    dialog = SweepDialog(GenerationRequest("a red circle", seed=3))
    qtbot.addWidget(dialog)
    sweep = dialog.sweep()
    assert (sweep.x.kind, sweep.y.kind) == (AxisKind.GUIDANCE, AxisKind.SEED)
    dialog.x_kind.setCurrentText("steps")
    dialog.x_values.setText("10, lots")
    dialog.accept()
    assert "steps values must be numbers" in dialog.error.text()
    assert dialog.result() != SweepDialog.DialogCode.Accepted


def test_the_guidance_table_button_fills_both_axes(qtbot):
    dialog = SweepDialog(GenerationRequest("a red circle", seed=3))
    qtbot.addWidget(dialog)
    dialog.y_kind.setCurrentText("(none)")
    dialog._guidance_table()
    sweep = dialog.sweep()
    assert sweep.column_labels() == ["CFG 1", "CFG 3", "CFG 7.5", "CFG 15", "CFG 30"]
    assert sweep.row_labels() == ["seed 3", "seed 4", "seed 5"]


def test_the_noise_lab_dialog_plots_the_schedule_and_asks_for_frames(qtbot):
    dialog = NoiseLabDialog("scene.png")
    qtbot.addWidget(dialog)
    asked, denoise = [], []
    dialog.timestep_changed.connect(asked.append)
    dialog.denoise_requested.connect(denoise.append)
    timesteps = list(range(1000))
    signal = [1 - t / 999 for t in timesteps]
    snr = [a / max(1 - a, 1e-12) for a in signal]
    names = {"signal_name": "alpha-bar", "signal_label": "alpha-bar (signal share)"}
    dialog.set_curves({"timesteps": timesteps, "signal": signal, "snr": snr, **names})
    assert len(dialog.signal_axes.lines) == 2  # the curve and the marker
    assert dialog.signal_axes.get_ylabel() == "alpha-bar (signal share)"
    dialog.slider.setValue(250)
    qtbot.waitUntil(lambda: asked[-1:] == [250], timeout=TIMEOUT)
    assert "t = 250   alpha-bar 0.75" in dialog.readout.text()
    dialog.denoise.click()
    assert denoise == [250]
    image = dialog.grab().toImage()
    dialog.show_frame(100, image)  # a frame for where the slider was: ignored
    assert dialog.image.pixmap().isNull()
    dialog.show_frame(250, image)
    assert not dialog.image.pixmap().isNull()


def test_switching_models_lets_go_of_the_kept_run(qapp, paths, fake_engine):
    from studio.core.settings import Settings
    from studio.ui.worker import EngineWorker

    worker = EngineWorker(lambda _settings: fake_engine, Settings(), paths)
    worker.load_model("snail-mini")
    worker.sight._runs = kept = object()  # holds the old model's pipeline
    worker.load_model("snail-mini")
    assert worker.sight._runs is kept  # the same model: nothing to free
    worker.load_model("other-sd15")
    assert worker.sight._runs is None


def test_clicking_a_word_of_the_prompt_shows_its_attention_map(window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QImage, QTextCursor

    def solid(value: int) -> QImage:
        image = QImage(8, 8, QImage.Format.Format_RGB888)
        image.fill(QColor(value, 0, 0))
        return image

    shown = []
    window.canvas.show_preview = lambda image, size=None: shown.append(image.pixelColor(0, 0).red())
    prompt = window.panel.prompt
    prompt.setPlainText("a red Circle, a red star")

    def click_at(position: int) -> None:
        cursor = QTextCursor(prompt.document())
        cursor.setPosition(position)
        qtbot.mouseClick(
            prompt.viewport(), Qt.MouseButton.LeftButton, pos=prompt.cursorRect(cursor).center()
        )

    click_at(8)
    assert shown == []  # no attention recorded yet
    words = [("a", solid(1)), ("red", solid(100)), ("circle", solid(200)), (",", solid(3))]
    window.sight.bar.set_words([*words, ("a", solid(2)), ("red", solid(101)), ("star", solid(4))])
    click_at(8)
    click_at(3)
    click_at(17)  # the second "red"
    assert shown == [200, 100, 101]


def test_the_see_menu_opens_the_noise_lab_on_the_shown_image(window, events, qtbot):
    run(window, events, qtbot)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=TIMEOUT)
    see = next(a.menu() for a in window.menuBar().actions() if a.text() == "&See")
    actions = {a.text(): a for a in see.actions()}
    actions["&Noise lab on the shown image\u2026"].trigger()
    assert window.sight.noise_lab is not None and window.sight.noise_lab.isVisible()
    # The fake engine has no model to noise with: the worker says so, the app goes on. (The
    # worker imports the engine's noise lab, and torch, first: seconds on a busy CPU.)
    qtbot.waitUntil(
        lambda: window.notice.text().startswith("Could not open the noise lab"), timeout=60_000
    )
    window.sight.noise_lab.close()


def test_the_export_dialog_offers_mp4_only_where_pyav_can_write_it(monkeypatch):
    assert animation_filter() == "Animated WebP (*.webp);;GIF (*.gif);;MP4 video (*.mp4)"
    monkeypatch.setitem(sys.modules, "av", None)  # as if not installed
    assert animation_filter() == "Animated WebP (*.webp);;GIF (*.gif)"
