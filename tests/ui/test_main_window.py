"""The studio window end to end on the fake engine: keyboard, queue, previews, errors, images."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from studio.core.errors import ModelError, RequestError
from studio.core.history import HistoryStore
from studio.core.metadata import read_png_request, save_png
from studio.core.request import GenerationRequest, Mode
from studio.ui import tasks
from studio.ui import workspace as workspace_module
from studio.ui.image_info_dialog import ImportChoice
from studio.ui.main_window import DEFAULT_SIZE
from studio.ui.qt_images import qimage_to_pil

TIMEOUT = 20_000  # a wait, not a timing claim: generous for a loaded 2-core machine
CTRL = Qt.KeyboardModifier.ControlModifier


def idle(qtbot, window):
    """Wait until no job runs or waits and every background task is done."""
    qtbot.waitUntil(lambda: len(window.queue) == 0 and tasks.pending() == 0, timeout=TIMEOUT)


def test_focus_starts_in_the_prompt(window, qtbot):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.panel.prompt, timeout=TIMEOUT)


def test_prompt_and_ctrl_enter_gives_previews_then_result(
    window, events, qtbot, fake_engine, paths
):
    previews = []
    window.canvas.show_preview = lambda image, size=None: previews.append((image, size))
    qtbot.keyClicks(window.panel.prompt, "a snail on a leaf")
    qtbot.keyClick(window.panel.prompt, Qt.Key.Key_Return, CTRL)
    saved = events.wait(qtbot, "finished")[1].outcome.paths[0]
    idle(qtbot, window)
    assert fake_engine.requests[-1].prompt == "a snail on a leaf"
    assert len(previews) == 20  # every step, stretched over the result's size
    assert all(size == QSize(256, 256) for _image, size in previews)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=TIMEOUT)
    assert window.canvas.image().size() == QSize(256, 256)
    on_disk = np.asarray(Image.open(saved).convert("RGB"))
    assert np.array_equal(np.asarray(qimage_to_pil(window.canvas.image())), on_disk)
    assert (
        saved.parent == paths.outputs_dir and read_png_request(saved).prompt == "a snail on a leaf"
    )
    qtbot.waitUntil(lambda: len(window.history.entries()) == 1, timeout=TIMEOUT)
    assert window.history.entries()[0].path == saved
    seed = read_png_request(saved).seed
    assert window.panel.seed.field.text() == str(seed)  # shown, not locked
    assert window.panel.request().seed is None


def test_status_bar_shows_step_elapsed_and_eta(window, qtbot, fake_engine):
    fake_engine.hold(at_step=5)
    window.panel.prompt.setPlainText("x")
    window.generate()
    qtbot.waitUntil(fake_engine.holding.is_set, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.run_status.text().startswith("Step 5/20"), timeout=TIMEOUT)
    assert "ETA" in window.run_status.text()
    assert window.run_status.progress.isVisible()
    assert "step 5/20" in window.queue_panel._row(0).detail.full_text()
    fake_engine.release()
    idle(qtbot, window)
    assert not window.run_status.progress.isVisible()


def test_three_queued_jobs_all_finish(window, qtbot, fake_engine):
    fake_engine.hold(at_step=1)
    for prompt in ("one", "two", "three"):
        window.panel.prompt.setPlainText(prompt)
        window.actions_.generate.trigger()
    qtbot.waitUntil(fake_engine.holding.is_set, timeout=TIMEOUT)
    assert len(window.queue) == 3 and len(window.queue.waiting) == 2
    assert window.panel.generate_button.text() == "Add to queue"
    assert window.queue_panel.list.count() == 3
    fake_engine.release()
    idle(qtbot, window)
    assert [r.prompt for r in fake_engine.requests] == ["one", "two", "three"]
    qtbot.waitUntil(lambda: len(window.history.entries()) == 3, timeout=TIMEOUT)
    assert [e.prompt for e in window.history.entries()] == ["three", "two", "one"]


def test_remove_a_queued_job(window, qtbot, fake_engine):
    fake_engine.hold(at_step=1)
    for prompt in ("keep", "drop", "also keep"):
        window.panel.prompt.setPlainText(prompt)
        window.generate()
    qtbot.waitUntil(fake_engine.holding.is_set, timeout=TIMEOUT)
    row = window.queue_panel._row(1)
    assert row.title.full_text() == "drop"
    row.remove.click()
    assert [j.request.prompt for j in window.queue.waiting] == ["also keep"]
    fake_engine.release()
    idle(qtbot, window)
    assert [r.prompt for r in fake_engine.requests] == ["keep", "also keep"]


def test_escape_cancels_the_running_job(window, events, qtbot, fake_engine):
    fake_engine.hold(at_step=3)
    window.panel.prompt.setPlainText("cancel me")
    window.generate()
    qtbot.waitUntil(fake_engine.holding.is_set, timeout=TIMEOUT)
    qtbot.waitUntil(window.canvas.has_preview, timeout=TIMEOUT)
    qtbot.keyClick(window.panel.prompt, Qt.Key.Key_Escape)
    events.wait(qtbot, "cancelled")
    idle(qtbot, window)
    assert not window.canvas.has_preview()
    assert HistoryStore(window.paths.history_db).count() == 0
    assert window.statusBar().currentMessage() == "Cancelled"
    assert not window.actions_.cancel.isEnabled()


def test_failure_shows_message_and_next_job_works(window, events, qtbot, fake_engine):
    fake_engine.fail_next(RequestError("guidance scale must be between 0 and 50"))
    window.panel.prompt.setPlainText("bad")
    window.generate()
    events.wait(qtbot, "failed")
    idle(qtbot, window)
    assert "guidance scale must be between 0 and 50" in window.notice.text()
    assert "guidance scale" in window.statusBar().currentMessage()
    window.generate()
    events.wait(qtbot, "finished")
    idle(qtbot, window)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=TIMEOUT)


def test_model_switch_loads_in_the_worker_with_status(window, qtbot, fake_engine):
    qtbot.waitUntil(lambda: fake_engine.loaded == "snail-mini", timeout=TIMEOUT)
    fake_engine.hold_loads()
    index = window.panel.model.findData("other-sd15")
    window.panel.model.setCurrentIndex(index)
    window.panel.model.activated.emit(index)
    qtbot.waitUntil(
        lambda: window.run_status.model_label.text() == "Loading model Other SD 1.5… 50% of 2.0 GB",
        timeout=TIMEOUT,
    )
    assert window.isEnabled()  # the UI thread is free while the worker loads
    fake_engine.release_loads()
    qtbot.waitUntil(
        lambda: window.run_status.model_label.text().startswith("Model: Other SD 1.5"),
        timeout=TIMEOUT,
    )
    assert "MainThread" not in fake_engine.threads


def test_model_that_fails_to_load_is_reported(window, qtbot, fake_engine):
    fake_engine.fail_next(ModelError("model file other.safetensors is damaged"))
    window.panel.prompt.setPlainText("x")
    window.generate()
    idle(qtbot, window)
    assert "damaged" in window.notice.text()


def test_image_to_image_without_input_explains(window, qtbot, fake_engine):
    window.panel.set_mode(Mode.IMG2IMG)
    window.generate()
    assert "needs an input image" in window.notice.text()
    assert len(window.queue) == 0 and fake_engine.requests == []


def _generate_and_wait(window, qtbot):
    done = len(window.history.entries())
    window.generate()
    idle(qtbot, window)
    qtbot.waitUntil(lambda: len(window.history.entries()) > done, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=TIMEOUT)
    return window.history.entries()[0].path


def test_use_as_input_then_inpaint_changes_only_the_mask(window, qtbot, fake_engine):
    window.panel.prompt.setPlainText("base")
    first = _generate_and_wait(window, qtbot)
    window.actions_.use_as_input.trigger()
    assert window.panel.mode() is Mode.IMG2IMG
    assert window.workspace.input is not None and window.workspace.input.size() == QSize(256, 256)
    window.panel.set_mode(Mode.INPAINT)
    window.generate()
    assert "mask is empty" in window.notice.text()
    assert window.canvas.is_mask_editing()
    window.painter.begin_stroke(QPointF(40, 40))
    window.painter.extend_stroke(QPointF(100, 40))
    window.painter.end_stroke()
    window.actions_.undo.trigger()
    assert window.painter.is_empty()
    window.actions_.redo.trigger()
    assert not window.painter.is_empty()
    result = _generate_and_wait(window, qtbot)
    request = fake_engine.requests[-1]
    assert request.mode is Mode.INPAINT and request.mask is not None
    mask = np.asarray(request.mask) > 0
    before = np.asarray(Image.open(first).convert("RGB"), dtype=np.int16)
    after = np.asarray(Image.open(result).convert("RGB"), dtype=np.int16)
    assert np.abs(after - before)[~mask].max() == 0
    assert np.abs(after - before)[mask].mean() > 10


def test_brackets_change_the_brush_outside_text_boxes(window, qtbot):
    size = window.painter.brush_size
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.painter.brush_size > size
    window.panel.prompt.setFocus()
    qtbot.keyClick(window.panel.prompt, Qt.Key.Key_BracketLeft)
    assert window.panel.prompt.toPlainText().endswith("[")


def test_paste_image_sets_the_input(window, qtbot):
    image = QImage(120, 80, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.darkCyan)
    QGuiApplication.clipboard().setImage(image)
    window.canvas.setFocus()
    window.actions_.paste.trigger()
    assert window.workspace.input.size() == QSize(120, 80)
    assert window.panel.mode() is Mode.IMG2IMG
    assert window.painter.size() == QSize(120, 80)  # the mask follows the input's size


def test_dropping_an_a1111_png_restores_its_parameters(window, qtbot, tmp_path):
    path = tmp_path / "from-webui.png"
    request = GenerationRequest(
        "a castle, matte painting", "lowres", steps=28, guidance_scale=6.0, scheduler="Euler a"
    )
    save_png(Image.new("RGB", (64, 48), "gray"), path, request, seed=1234, model_name="webui")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.workspace.choose_import = lambda *_args: ImportChoice.BOTH
    window.workspace.open_file(path)
    idle(qtbot, window)
    restored = window.panel.request()
    assert restored.prompt == "a castle, matte painting" and restored.negative_prompt == "lowres"
    assert (restored.steps, restored.guidance_scale, restored.seed) == (28, 6.0, 1234)
    assert window.workspace.input.size() == QSize(64, 48)
    assert "Restored parameters" in window.statusBar().currentMessage()


def test_save_as_copies_the_png_with_metadata(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window.panel.prompt.setPlainText("keep my metadata")
    _generate_and_wait(window, qtbot)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=TIMEOUT)
    target = tmp_path / "mine.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.actions_.save_as.trigger()
    idle(qtbot, window)
    qtbot.waitUntil(target.exists, timeout=TIMEOUT)
    assert read_png_request(target).prompt == "keep my metadata"


def test_layout_and_geometry_restored(make_window, qtbot):
    first = make_window()
    first.queue_dock.hide()
    # Above the window's minimum (the prompt panel beside its scroll bar, the canvas with its
    # step bar) and inside the offscreen 800x600 screen, to which restoring clamps.
    first.resize(760, 520)
    first.close()
    second = make_window()
    assert second.queue_dock.isHidden()
    assert second.size() == QSize(760, 520)


def test_a_first_window_fits_on_a_screen_smaller_than_its_default_size(window):
    available = window.screen().availableGeometry().size()
    assert available.width() < DEFAULT_SIZE.width()  # offscreen: 800x600
    assert window.width() <= available.width() and window.height() <= available.height()


def test_menus_show_shortcuts(window):
    a = window.actions_
    assert a.generate.shortcut().toString() == "Ctrl+Return"
    assert "Ctrl+Return" in a.generate.toolTip()
    assert a.cancel.shortcut().toString() == "Esc"
    assert a.save_as.shortcut().toString() == "Ctrl+S"
    assert a.open.shortcut().toString() == "Ctrl+O"
    assert (a.undo.shortcut().toString(), a.redo.shortcut().toString()) == (
        "Ctrl+Z",
        "Ctrl+Shift+Z",
    )
    assert (a.brush_smaller.shortcut().toString(), a.brush_larger.shortcut().toString()) == (
        "[",
        "]",
    )
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&Generate", "&Mask", "&View", "&See"]


def test_dropping_a_plain_image_on_the_canvas_makes_it_the_input(window, qtbot, tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (200, 120), "teal").save(path)
    window.canvas.image_dropped.emit(str(path))
    idle(qtbot, window)
    assert window.workspace.input.size() == QSize(200, 120)
    assert window.panel.mode() is Mode.IMG2IMG
    assert window.canvas.image().size() == QSize(200, 120)


def test_ctrl_o_opens_an_image(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    path = tmp_path / "in.jpg"
    Image.new("RGB", (96, 64), "orange").save(path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_O, CTRL)
    idle(qtbot, window)
    assert window.workspace.input.size() == QSize(96, 64)
    assert "in.jpg" in window.statusBar().currentMessage()


def test_mask_menu_commands(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    image = QImage(64, 64, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.gray)
    window.workspace.set_input(image)
    a = window.actions_
    a.fill_mask.trigger()
    assert not window.painter.is_empty()
    a.invert_mask.trigger()
    assert window.painter.is_empty()
    a.eraser.trigger()
    assert window.painter.eraser and a.eraser.isChecked()
    a.brush.trigger()
    assert not window.painter.eraser
    a.fill_mask.trigger()
    target = tmp_path / "mask.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    a.save_mask.trigger()
    assert target.exists()
    a.clear_mask.trigger()
    assert window.painter.is_empty()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    a.load_mask.trigger()
    assert not window.painter.is_empty() and window.panel.mode() is Mode.INPAINT


def test_view_zoom_commands(window, qtbot):
    image = QImage(64, 64, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.gray)
    window.workspace.show_image(image)
    window.actions_.zoom_actual.trigger()
    assert window.canvas.zoom() == 1.0
    window.actions_.zoom_in.trigger()
    assert window.canvas.zoom() > 1.0
    window.actions_.zoom_fit.trigger()
    assert window.canvas.zoom() > 2.0  # a small image is enlarged to fit


def test_settings_are_saved_and_sent_to_the_worker(window, events, qtbot, paths, monkeypatch):
    from studio.core.settings import Settings
    from studio.ui.settings_dialog import SettingsDialog

    def accept(dialog: SettingsDialog) -> int:
        dialog.folders.addItem(str(paths.data_dir / "models"))
        dialog.steps.setValue(12)
        dialog.precision.setCurrentIndex(dialog.precision.findData("fp32"))
        return SettingsDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", accept)
    window.actions_.settings.trigger()
    saved = Settings.load(paths.settings_file)
    assert saved.model_folders == [str(paths.data_dir / "models")]
    assert (saved.default_steps, saved.precision) == (12, "fp32")
    # Other folders and precision need a new engine: the worker lists the models again.
    events.wait(qtbot, "models_listed")


def test_a_finished_job_is_shown_from_memory_not_read_back(
    window, events, qtbot, fake_engine, monkeypatch
):
    def no_read(*_args):
        raise AssertionError("the window read back a file it had in memory")

    window.history.refresh()
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=TIMEOUT)
    monkeypatch.setattr(workspace_module, "read_image_and_info", no_read)
    monkeypatch.setattr(window.history._store, "entries", no_read)
    window.panel.prompt.setPlainText("a snail")
    window.generate()
    done = events.wait(qtbot, "finished")[1]
    idle(qtbot, window)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=TIMEOUT)
    assert window.canvas.image() == done.images[0]
    assert window.history.entries() == done.outcome.entries
    assert window.history.count_label.text().startswith("1 image ")
    assert window.panel.seed.field.text() == str(done.outcome.seeds[0])


def test_image_to_image_progress_says_it_runs_strengths_share_of_the_steps(
    window, qtbot, fake_engine
):
    image = QImage(64, 64, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.darkCyan)
    window.workspace.set_input(image)
    window.panel.steps.setValue(150)
    window.panel.strength.setValue(0.75)
    fake_engine.hold(at_step=4)
    window.panel.prompt.setPlainText("x")
    window.generate()
    qtbot.waitUntil(fake_engine.holding.is_set, timeout=TIMEOUT)
    expected = "step 4/112 (strength 0.75 of 150 steps)"
    qtbot.waitUntil(lambda: expected in window.queue_panel._row(0).detail.full_text())
    assert window.run_status.text().startswith("Step 4/112 (strength 0.75 of 150 steps)")
    fake_engine.release()
    idle(qtbot, window)


def test_identical_queued_jobs_can_be_told_apart(window, qtbot, fake_engine):
    fake_engine.hold(at_step=1)
    window.panel.prompt.setPlainText("same")
    window.generate()
    window.generate()
    qtbot.waitUntil(fake_engine.holding.is_set, timeout=TIMEOUT)
    details = [window.queue_panel._row(i).detail.full_text() for i in range(2)]
    assert details[0] != details[1]
    for detail in details:
        assert "snail-mini" in detail and "random seed" in detail and "native size" in detail
    fake_engine.release()
    idle(qtbot, window)


def test_edit_menu_names_the_mask_edit_once(window):
    window.workspace.set_input(QImage(64, 64, QImage.Format.Format_RGB888))
    window.painter.set_eraser(True)
    window.painter.begin_stroke(QPointF(10, 10))
    window.painter.end_stroke()
    assert window.actions_.undo.text() == "Undo Erase mask"


def test_an_empty_file_says_it_is_empty(window, qtbot, tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    window.workspace.open_file(path)
    idle(qtbot, window)
    assert window.notice.text() == "cannot read empty.png: the file is empty"


def test_the_status_says_which_servers_made_the_images(window, events, qtbot, fake_engine):
    fake_engine.workers = ["gpu-box:8188", "127.0.0.1:8188"]
    window.panel.prompt.setPlainText("a snail")
    window.panel.batch.setValue(2)
    window.generate()
    events.wait(qtbot, "finished")
    qtbot.waitUntil(lambda: "made on" in window.statusBar().currentMessage(), timeout=TIMEOUT)
    assert window.statusBar().currentMessage().endswith("(made on 127.0.0.1:8188, gpu-box:8188)")


def see_menu_actions(window) -> dict[str, bool]:
    """The See menu's actions by text, with whether each is offered."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&See")
    return {action.text(): action.isVisible() for action in menu.actions()}


def test_a_backend_without_latents_gets_no_step_bar_or_attention(make_window, qtbot):
    from studio.core.features import BackendFeatures
    from studio.core.request import Mode
    from tests.ui.fake_engine import FakeEngine

    engine = FakeEngine()
    engine.declared_features = BackendFeatures(modes=frozenset({Mode.TXT2IMG, Mode.IMG2IMG}))
    window = make_window(engine=engine)
    qtbot.waitUntil(lambda: not window.sight.bar.isVisibleTo(window), timeout=TIMEOUT)
    assert not window.sight.bar.attention.isVisibleTo(window)
    offered = see_menu_actions(window)
    assert offered["&Sweep\u2026"] and offered["&Guidance table"]
    assert not offered["&Noise lab on the shown image\u2026"]
    assert not offered["Show noisy latents (x\u209c)"]
    inpaint = next(
        b for b in window.panel.mode_buttons.buttons() if b.property("mode") == "inpaint"
    )
    assert not inpaint.isEnabled()


def test_the_local_engine_shows_the_step_bar_and_attention(window, qtbot):
    qtbot.waitUntil(lambda: window.panel.model_list.info("snail-mini") is not None, timeout=TIMEOUT)
    assert window.sight.bar.isVisibleTo(window) and window.sight.bar.attention.isVisibleTo(window)
    assert all(see_menu_actions(window).values())


def test_a_job_failing_beside_the_shown_one_leaves_its_previews(window):
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QImage

    preview = QImage(8, 8, QImage.Format.Format_RGB888)
    preview.fill(0x336699)
    window.workspace.show_preview(1, preview, QSize(64, 64))
    window.workspace.run_ended(2, succeeded=False)  # another server's job
    assert window.canvas.has_preview()
    window.workspace.run_ended(1, succeeded=False)
    assert not window.canvas.has_preview()
