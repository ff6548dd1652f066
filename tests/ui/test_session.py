"""Nothing lost: prompt, parameters, input image, mask and layout come back, also after a kill."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage

from studio.core.request import Mode
from studio.ui import tasks
from studio.ui.mask_painter import gray_pixels
from studio.ui.session import AUTOSAVE_DELAY_MS, SessionStore

TIMEOUT = 20_000  # a wait, not a timing claim: generous for a loaded 2-core machine


def _work_on(window, qtbot) -> None:
    """Type a prompt, change settings, paste an input image and paint a mask."""
    qtbot.keyClicks(window.panel.prompt, "a snail in the rain")
    window.panel.negative.setPlainText("dry")
    window.panel.steps.setValue(31)
    window.panel.guidance.setValue(4.5)
    window.panel.seed_state.restore(424242)
    image = QImage(160, 96, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.darkYellow)
    QGuiApplication.clipboard().setImage(image)
    window.workspace.paste()
    window.panel.set_mode(Mode.INPAINT)
    window.painter.begin_stroke(QPointF(20, 20))
    window.painter.extend_stroke(QPointF(120, 60))
    window.painter.end_stroke()


def _assert_restored(window, qtbot, mask: np.ndarray) -> None:
    request = window.panel.request()
    assert request.prompt == "a snail in the rain" and request.negative_prompt == "dry"
    assert (request.steps, request.guidance_scale, request.seed) == (31, 4.5, 424242)
    assert request.mode is Mode.INPAINT
    qtbot.waitUntil(lambda: window.workspace.input is not None, timeout=TIMEOUT)
    assert window.workspace.input.size() == QSize(160, 96)
    assert window.panel.input_thumb.pixmap() is not None
    qtbot.waitUntil(lambda: not window.painter.is_empty(), timeout=TIMEOUT)
    assert np.array_equal(gray_pixels(window.painter.mask()), mask)
    assert not window.painter.undo_stack.canUndo()  # restoring is not an edit to undo


def test_session_restored_after_closing_and_reopening(make_window, qtbot):
    first = make_window()
    _work_on(first, qtbot)
    mask = gray_pixels(first.painter.mask())
    first.close()
    second = make_window()
    _assert_restored(second, qtbot, mask)


def test_autosave_survives_a_kill(make_window, qtbot, paths):
    first = make_window()
    _work_on(first, qtbot)
    mask = gray_pixels(first.painter.mask())
    store = SessionStore(paths)
    qtbot.waitUntil(lambda: store.mask_file.exists(), timeout=AUTOSAVE_DELAY_MS + TIMEOUT)
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=TIMEOUT)
    assert store.load_request()["prompt"] == "a snail in the rain"
    # No close, no flush: a second window reads what autosave left, as after a kill.
    second = make_window()
    _assert_restored(second, qtbot, mask)


def test_unlocked_seed_stays_random(make_window, qtbot):
    first = make_window()
    first.panel.prompt.setPlainText("random each time")
    first.panel.show_used_seed(77)
    first.close()
    second = make_window()
    assert second.panel.request().seed is None


def test_damaged_session_starts_clean(make_window, paths, qtbot):
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.session_file.write_text("{not json", encoding="utf-8")
    (paths.data_dir / "session-input.png").write_bytes(b"not a png")
    window = make_window()
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=TIMEOUT)
    assert window.panel.request().prompt == "" and window.workspace.input is None


def test_writes_are_atomic_and_leave_no_temp_files(make_window, paths, qtbot):
    window = make_window()
    _work_on(window, qtbot)
    window.close()
    names = sorted(p.name for p in paths.data_dir.iterdir() if not p.name.startswith("history"))
    assert names == ["session-input.png", "session-mask.png", "session.json", "window.json"]


def test_a_stale_background_write_never_wins(paths):
    store = SessionStore(paths)
    newer, older = (
        QImage(8, 8, QImage.Format.Format_RGB888),
        QImage(8, 8, QImage.Format.Format_RGB888),
    )
    newer.fill(Qt.GlobalColor.white)
    older.fill(Qt.GlobalColor.black)
    store.save_images(2, newer, None)
    store.save_images(1, older, None)
    image, mask = store.load_images()
    assert image.pixelColor(0, 0).name() == "#ffffff" and mask is None


def test_brush_feather_and_overlay_come_back_after_a_restart(make_window, qtbot):
    first = make_window()
    _work_on(first, qtbot)
    first.painter.set_brush_size(23)
    first.painter.set_feather(13)
    first.painter.style.set_color("Cyan")
    first.painter.style.set_opacity(0.7)
    first.close()
    second = make_window()
    qtbot.waitUntil(lambda: second.workspace.input is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=TIMEOUT)
    painter = second.painter
    assert (painter.brush_size, painter.feather) == (23, 13)
    assert (painter.style.color, painter.style.opacity) == ("Cyan", 0.7)
    tools = second.panel._mask_tools
    assert (tools.feather.value(), tools.size_label.text()) == (13, "23 px")


def test_a_job_interrupted_by_a_kill_is_offered_again(make_window, qtbot, fake_engine, paths):
    from tests.ui.fake_engine import FakeEngine

    first = make_window()
    fake_engine.hold(at_step=2)
    first.panel.prompt.setPlainText("a snail at dusk")
    first.panel.steps.setValue(12)
    first.generate()
    qtbot.waitUntil(fake_engine.holding.is_set, timeout=TIMEOUT)
    # The window records the job when the worker's "started" reaches it (queued, so it may
    # come a moment after the engine's first steps).
    qtbot.waitUntil(SessionStore(paths).running_file.exists, timeout=TIMEOUT)
    # No close: a second window starts as after a kill.
    engine = FakeEngine()
    second = make_window(engine=engine)
    assert "A job was interrupted" in second.notice.text()
    assert "a snail at dusk" in second.notice.text()
    assert not SessionStore(paths).running_file.exists()  # offered once
    second.notice.action.click()
    qtbot.waitUntil(lambda: len(engine.requests) == 1, timeout=TIMEOUT)
    assert (engine.requests[0].prompt, engine.requests[0].steps) == ("a snail at dusk", 12)


def test_a_finished_or_closed_job_is_not_offered_again(make_window, qtbot, paths):
    first = make_window()
    first.panel.prompt.setPlainText("done")
    first.generate()
    qtbot.waitUntil(lambda: len(first.queue) == 0, timeout=TIMEOUT)
    assert not SessionStore(paths).running_file.exists()
    first.close()
    second = make_window()
    assert "interrupted" not in second.notice.text()
