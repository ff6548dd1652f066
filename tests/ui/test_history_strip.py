"""The history strip: thumbnails from the database, its context actions, and compare."""

from __future__ import annotations

from PIL import Image
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu

from studio.core.history import HistoryStore
from studio.core.metadata import save_png
from studio.core.request import GenerationRequest
from studio.ui import tasks
from studio.ui.compare_view import CompareDialog
from studio.ui.history_strip import HistoryStrip

TIMEOUT = 20_000  # a wait, not a timing claim: generous for a loaded 2-core machine


def _add_images(paths, prompts: list[str]) -> list:
    store = HistoryStore(paths.history_db)
    entries = []
    for seed, prompt in enumerate(prompts, start=100):
        path = paths.outputs_dir / f"{seed}.png"
        request = GenerationRequest(prompt, steps=12 + seed % 3, seed=seed)
        save_png(
            Image.new("RGB", (64, 64), (seed % 255, 80, 160)), path, request, seed, "Snail Mini"
        )
        entries.append(store.add(path, request, seed, "Snail Mini", 1.5))
    return entries


def _strip(qtbot, paths) -> HistoryStrip:
    strip = HistoryStrip(paths.history_db)
    qtbot.addWidget(strip)
    strip.show()
    with qtbot.waitSignal(strip.loaded, timeout=TIMEOUT):
        strip.refresh()
    return strip


def test_thumbnails_newest_first_and_after_a_restart(qtbot, qloop, paths):
    _add_images(paths, ["first", "second", "third"])
    strip = _strip(qtbot, paths)
    assert [e.prompt for e in strip.entries()] == ["third", "second", "first"]
    assert not strip.list.item(0).icon().isNull()
    assert "3 images" in strip.count_label.text()
    again = _strip(qtbot, paths)  # a new strip on the same database: a restart
    assert [e.prompt for e in again.entries()] == ["third", "second", "first"]


def test_refresh_adds_new_entries_and_keeps_selection(qtbot, qloop, paths):
    _add_images(paths, ["old"])
    strip = _strip(qtbot, paths)
    strip.select([strip.entries()[0].id])
    kept = strip.list.item(0)
    _add_images(paths, ["new"])
    with qtbot.waitSignal(strip.loaded, timeout=TIMEOUT):
        strip.refresh()
    assert [e.prompt for e in strip.entries()] == ["new", "old"]
    assert strip.list.item(1) is kept and kept.isSelected()


def test_click_shows_and_context_actions_emit(qtbot, qloop, paths, monkeypatch):
    entries = _add_images(paths, ["a", "b"])
    strip = _strip(qtbot, paths)
    menus: list[QMenu] = []
    monkeypatch.setattr(QMenu, "popup", lambda menu, _pos: menus.append(menu))
    rect = strip.list.visualItemRect(strip.list.item(1))
    with qtbot.waitSignal(strip.show_requested) as shown:
        strip.list.itemClicked.emit(strip.list.item(1))
    assert shown.args[0].id == entries[0].id
    strip._context_menu(rect.center())
    actions = {a.text(): a for a in menus[-1].actions() if a.text()}
    assert list(actions) == [
        "Show",
        "Use as Input",
        "Restore Parameters",
        f"Copy Seed ({entries[0].seed})",
        "Open Folder",
        "Compare 1 Selected",
        "Remove from History",
        "Delete Image File…",
    ]
    with qtbot.waitSignal(strip.use_as_input_requested) as used:
        actions["Use as Input"].trigger()
    assert used.args[0].path == entries[0].path
    with qtbot.waitSignal(strip.restore_requested) as restored:
        actions["Restore Parameters"].trigger()
    assert restored.args[0].request.prompt == "a" and restored.args[0].request.seed == 100
    actions[f"Copy Seed ({entries[0].seed})"].trigger()
    assert QGuiApplication.clipboard().text() == "100"
    assert not actions["Compare 1 Selected"].isEnabled()


def test_remove_from_history_keeps_the_file(qtbot, qloop, paths):
    entries = _add_images(paths, ["keep file", "other"])
    strip = _strip(qtbot, paths)
    with qtbot.waitSignal(strip.loaded, timeout=TIMEOUT):
        strip.delete([entries[0]], delete_files=False)
    assert [e.prompt for e in strip.entries()] == ["other"]
    assert entries[0].path.exists()


def test_delete_image_file_asks_then_deletes(qtbot, qloop, paths, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    entries = _add_images(paths, ["doomed"])
    strip = _strip(qtbot, paths)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(strip.loaded, timeout=TIMEOUT):
        strip._confirm_delete(entries)
    assert strip.entries() == [] and not entries[0].path.exists()
    assert HistoryStore(paths.history_db).count() == 0


def test_missing_file_still_listed(qtbot, qloop, paths):
    entries = _add_images(paths, ["gone"])
    entries[0].path.unlink()
    strip = _strip(qtbot, paths)
    assert [e.prompt for e in strip.entries()] == ["gone"]
    assert not strip.list.item(0).icon().isNull()


def test_compare_selected_opens_side_by_side_with_differences(window, qtbot, paths):
    _add_images(paths, ["snail", "snail", "slug"])
    with qtbot.waitSignal(window.history.loaded, timeout=TIMEOUT):
        window.history.refresh()
    strip = window.history
    assert not strip.compare_button.isEnabled()
    strip.list.selectAll()
    assert strip.compare_button.isEnabled() and strip.compare_button.text() == "Compare 3"
    strip.compare_button.click()
    qtbot.waitUntil(
        lambda: window._compare is not None and window._compare.isVisible(), timeout=TIMEOUT
    )
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=TIMEOUT)
    dialog: CompareDialog = window._compare
    items = dialog.compare_view().items()
    assert len(items) == 3
    assert [item.params["seed"] for item in items] == [102, 101, 100]
    assert items[0].params["prompt"] == "slug"


def test_history_click_and_restore_in_the_window(window, qtbot, paths):
    _add_images(paths, ["restore me"])
    with qtbot.waitSignal(window.history.loaded, timeout=TIMEOUT):
        window.history.refresh()
    entry = window.history.entries()[0]
    window.history.show_requested.emit(entry)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=TIMEOUT)
    window.history.restore_requested.emit(entry)
    assert window.panel.request().prompt == "restore me" and window.panel.request().seed == 100
    window.history.use_as_input_requested.emit(entry)
    qtbot.waitUntil(lambda: window.workspace.input is not None, timeout=TIMEOUT)
    assert window.workspace.input.width() == 64


def test_strip_thumbnails_drag_out_as_files(qtbot, qloop, paths):
    entries = _add_images(paths, ["drag"])
    strip = _strip(qtbot, paths)
    mime = strip.list.mimeData([strip.list.item(0)])
    assert [url.toLocalFile() for url in mime.urls()] == [str(entries[0].path)]
