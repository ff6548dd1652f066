"""Where models come from and what the window adds to the chooser: other apps' folders found
and offered ("Find my models"), the scan's progress, the last image made with each model."""

from __future__ import annotations

from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox, QLabel

from studio.core.history import HistoryStore
from studio.core.model_roots import FoundFolder
from studio.core.request import GenerationRequest
from studio.core.settings import Settings
from studio.ui.find_models_dialog import FindModelsDialog
from studio.ui.settings_dialog import SettingsDialog

TIMEOUT = 20_000


def _found(tmp_path):
    comfy = tmp_path / "ComfyUI" / "models"
    invoke = tmp_path / "invokeai" / "models"
    empty = tmp_path / "Fooocus" / "models"
    for folder in (comfy, invoke, empty):
        folder.mkdir(parents=True)
    return (
        FoundFolder("ComfyUI", comfy, 12),
        FoundFolder("Fooocus", empty, 0),
        FoundFolder("InvokeAI", invoke, 3),
    )


def _rows(dialog: FindModelsDialog) -> list[tuple[str, bool, bool]]:
    items = [dialog.list.item(row) for row in range(dialog.list.count())]
    return [
        (i.text(), i.checkState().value == 2, bool(i.flags() & i.flags().ItemIsEnabled))
        for i in items
    ]


def test_found_folders_are_listed_with_counts_those_with_models_ticked(qtbot, tmp_path):
    comfy, empty, invoke = _found(tmp_path)
    dialog = FindModelsDialog([comfy, empty, invoke], [str(invoke.folder)])
    qtbot.addWidget(dialog)
    assert _rows(dialog) == [
        (f"ComfyUI  \u00b7  12 model files\n{comfy.folder}", True, True),
        (f"Fooocus  \u00b7  0 model files\n{empty.folder}", False, True),
        (f"InvokeAI  \u00b7  3 model files\n{invoke.folder}  (already used)", True, False),
    ]
    assert dialog.chosen_folders() == [str(comfy.folder)]


def test_nothing_found_says_so(qtbot):
    dialog = FindModelsDialog([], [])
    qtbot.addWidget(dialog)
    assert "were found in the usual places" in dialog.findChild(QLabel).text()
    assert (
        not dialog.findChild(QDialogButtonBox)
        .button(QDialogButtonBox.StandardButton.Ok)
        .isEnabled()
    )


def test_the_first_start_offers_found_folders_and_adds_the_ticked_ones(
    make_window, qtbot, tmp_path, paths, fake_engine
):
    found = _found(tmp_path)
    window = make_window(found_folders=found)
    qtbot.waitUntil(lambda: "Models of ComfyUI, InvokeAI" in window.notice.text(), timeout=TIMEOUT)
    assert "(15 files)" in window.notice.text()
    listings = fake_engine.listings
    window.notice.action.click()
    dialog = window.findChild(FindModelsDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.accept()
    wanted = [str(found[0].folder), str(found[2].folder)]
    assert window.settings.model_folders == wanted
    assert Settings.load(paths.settings_file).model_folders == wanted
    qtbot.waitUntil(lambda: fake_engine.listings > listings, timeout=TIMEOUT)  # listed again


def test_nothing_is_offered_once_model_folders_are_set(make_window, qtbot, tmp_path):
    window = make_window(Settings(model_folders=[str(tmp_path)]), found_folders=_found(tmp_path))
    qtbot.wait(200)
    assert "Models of" not in window.notice.text()


def test_settings_find_my_models_adds_the_ticked_folders(qtbot, qloop, paths, tmp_path):
    found = _found(tmp_path)
    dialog = SettingsDialog(Settings(model_folders=["/models"]), paths, None, lambda: list(found))
    qtbot.addWidget(dialog)
    dialog.find_models.click()
    qtbot.waitUntil(
        lambda: dialog.found_dialog is not None and dialog.found_dialog.isVisible(), timeout=TIMEOUT
    )
    dialog.found_dialog.accept()
    assert dialog.settings().model_folders == [
        "/models",
        str(found[0].folder),
        str(found[2].folder),
    ]


def test_the_browser_shows_the_last_image_made_with_each_model(window, qtbot):
    panel = window.panel
    chooser = panel.open_model_chooser()
    assert panel.model_list.thumbnails == {}
    panel.prompt.setPlainText("a snail")
    window.generate()
    qtbot.waitUntil(lambda: "snail-mini" in panel.model_list.thumbnails, timeout=TIMEOUT)
    thumbnail = panel.model_list.thumbnails["snail-mini"]
    assert max(thumbnail.width(), thumbnail.height()) <= 72
    picture = chooser.list.itemWidget(chooser.list.item(1)).findChild(
        type(chooser.status), "modelThumbnail"
    )
    assert picture.pixmap() is not None and not picture.pixmap().isNull()


def test_the_scan_shows_its_progress(window, qtbot, fake_engine):
    chooser = window.panel.open_model_chooser()
    window.client.worker.scan_progress.emit(3, 10)
    qtbot.waitUntil(lambda: "3 of 10" in chooser.status.text(), timeout=TIMEOUT)
    assert "3 of 10" in window.statusBar().currentMessage()
    window.client.list_models()
    qtbot.waitUntil(lambda: "can run here" in chooser.status.text(), timeout=TIMEOUT)
    assert "Looking through" not in window.statusBar().currentMessage()


def test_the_last_images_come_from_history_when_models_are_listed(
    make_window, qtbot, paths, tmp_path
):
    image = tmp_path / "fox.png"
    Image.new("RGB", (300, 200), "orange").save(image)
    HistoryStore(paths.history_db).add(
        image, GenerationRequest("a fox", model="other-sd15"), 1, "Other SD 1.5", 1.0
    )
    window = make_window()
    qtbot.waitUntil(lambda: "other-sd15" in window.panel.model_list.thumbnails, timeout=TIMEOUT)
    thumbnail = window.panel.model_list.thumbnails["other-sd15"]
    assert (thumbnail.width(), thumbnail.height()) == (72, 48)
    assert set(window.panel.model_list.thumbnails) == {"other-sd15"}
