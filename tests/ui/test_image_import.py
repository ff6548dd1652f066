"""Open, drop and paste offer one choice for an image with parameters; the PNG info view."""

from __future__ import annotations

from PIL import Image, PngImagePlugin
from PySide6.QtCore import QMimeData, QSize, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from studio.core.image_info import read_image_info
from studio.core.request import Mode
from studio.ui import tasks
from studio.ui.image_info_dialog import ImageInfoDialog, ImportChoice

TIMEOUT = 20_000
WEBUI = (
    "a castle, matte painting\nNegative prompt: lowres\n"
    "Steps: 28, Sampler: Euler, Schedule type: Karras, CFG scale: 6, Seed: 1234, Size: 64x48,"
    " Model: webui-model, Version: v1.10.1"
)


def _webui_png(path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", WEBUI)
    Image.new("RGB", (64, 48), "gray").save(path, pnginfo=info)
    return path


def _answer(window, choice):
    asked = []

    def choose(_parent, name, info, image):
        asked.append((name, info, image.size()))
        return choice

    window.workspace.choose_import = choose
    return asked


def _idle(qtbot):
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=TIMEOUT)


def _restored(window):
    request = window.panel.request()
    return request.prompt, request.negative_prompt, request.steps, request.seed


def test_ctrl_o_on_a_webui_png_asks_and_restores_its_parameters(
    window, qtbot, tmp_path, monkeypatch
):
    path = _webui_png(tmp_path / "webui.png")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    asked = _answer(window, ImportChoice.PARAMETERS)
    window.actions_.open.trigger()
    _idle(qtbot)
    assert [name for name, _info, _size in asked] == ["webui.png"]
    assert asked[0][1].source == "AUTOMATIC1111-compatible" and asked[0][2] == QSize(64, 48)
    assert _restored(window) == ("a castle, matte painting", "lowres", 28, 1234)
    assert window.workspace.input is None  # parameters only, as chosen
    message = window.statusBar().currentMessage()
    assert "schedule type Karras is not available" in message
    assert "seed 1234 is locked: unlock it for new images" in message  # restores lock the seed


def test_opened_as_input_its_parameters_can_still_be_restored(window, qtbot, tmp_path, monkeypatch):
    path = _webui_png(tmp_path / "webui.png")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    _answer(window, ImportChoice.INPUT)
    window.actions_.open.trigger()
    _idle(qtbot)
    assert window.workspace.input.size() == QSize(64, 48)
    assert window.panel.request().prompt == ""
    window.actions_.restore_shown.trigger()
    _idle(qtbot)
    assert _restored(window) == ("a castle, matte painting", "lowres", 28, 1234)


def test_drop_and_paste_offer_the_same_choice(window, qtbot, tmp_path):
    path = _webui_png(tmp_path / "webui.png")
    asked = _answer(window, ImportChoice.BOTH)
    window.canvas.image_dropped.emit(str(path))
    _idle(qtbot)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    QGuiApplication.clipboard().setMimeData(mime)
    window.actions_.paste.trigger()
    _idle(qtbot)
    assert [name for name, _info, _size in asked] == ["webui.png", "webui.png"]
    assert window.workspace.input.size() == QSize(64, 48)
    assert _restored(window) == ("a castle, matte painting", "lowres", 28, 1234)


def test_cancel_changes_nothing(window, qtbot, tmp_path):
    _answer(window, None)
    window.canvas.image_dropped.emit(str(_webui_png(tmp_path / "webui.png")))
    _idle(qtbot)
    assert window.workspace.input is None and window.panel.request().prompt == ""


def test_a_plain_image_becomes_the_input_without_asking(window, qtbot, tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (40, 30), "teal").save(path)
    asked = _answer(window, ImportChoice.PARAMETERS)
    window.canvas.image_dropped.emit(str(path))
    _idle(qtbot)
    assert asked == [] and window.workspace.input.size() == QSize(40, 30)
    assert window.panel.mode() is Mode.IMG2IMG


def test_image_info_shows_the_shown_images_parameters(window, qtbot, tmp_path):
    path = _webui_png(tmp_path / "webui.png")
    window.workspace.show_file(path)
    _idle(qtbot)
    asked = _answer(window, None)
    window.actions_.image_info.trigger()
    _idle(qtbot)
    assert len(asked) == 1 and asked[0][1].settings["Schedule type"] == "Karras"


def test_the_dialog_lists_every_setting_and_offers_the_choice(qtbot, tmp_path):
    path = _webui_png(tmp_path / "webui.png")
    dialog = ImageInfoDialog("webui.png", read_image_info(path), None)
    qtbot.addWidget(dialog)
    rows = {
        dialog.table.item(row, 0).text(): dialog.table.item(row, 1).text()
        for row in range(dialog.table.rowCount())
    }
    assert rows["Prompt"] == "a castle, matte painting"
    assert rows["Schedule type"] == "Karras" and rows["Version"] == "v1.10.1"
    assert "AUTOMATIC1111" in dialog.source.text()
    dialog.buttons[ImportChoice.BOTH].click()
    assert dialog.choice is ImportChoice.BOTH


def test_the_dialog_offers_only_input_without_parameters(qtbot, tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(path)
    dialog = ImageInfoDialog("plain.png", read_image_info(path), None)
    qtbot.addWidget(dialog)
    enabled = {c for c, button in dialog.buttons.items() if button.isEnabled()}
    assert enabled == {ImportChoice.INPUT}
    assert "No generation parameters" in dialog.source.text()


def test_image_info_of_a_plain_image_still_shows_the_view(window, qtbot, tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (40, 30), "teal").save(path)
    window.workspace.show_file(path)
    _idle(qtbot)
    asked = _answer(window, None)
    window.actions_.image_info.trigger()
    _idle(qtbot)
    assert len(asked) == 1 and asked[0][1].source == ""
    assert window.workspace.input is None
