"""Every command of the main window as a QAction (text, shortcut shown in menus and tooltips).

The window connects them; keeping them here keeps main_window.py about behaviour, not wiring.
Single-key shortcuts ([ ] B E) never fire while typing: text boxes claim printable keys first.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import QDockWidget, QMenuBar

Key = QKeySequence.StandardKey


@dataclass
class WindowActions:
    open: QAction
    paste: QAction
    save_as: QAction
    settings: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    generate: QAction
    cancel: QAction
    use_as_input: QAction
    show_input: QAction
    restore_shown: QAction
    image_info: QAction
    clear_queue: QAction
    brush: QAction
    eraser: QAction
    brush_smaller: QAction
    brush_larger: QAction
    clear_mask: QAction
    invert_mask: QAction
    fill_mask: QAction
    save_mask: QAction
    load_mask: QAction
    zoom_fit: QAction
    zoom_actual: QAction
    zoom_in: QAction
    zoom_out: QAction

    def all(self) -> list[QAction]:
        return [getattr(self, f.name) for f in fields(self)]


def _action(
    parent: QObject,
    text: str,
    shortcuts: list[QKeySequence | Key | str] | None = None,
    tip: str = "",
    icon_text: str = "",
) -> QAction:
    action = QAction(text, parent)
    keys = [k if isinstance(k, QKeySequence) else QKeySequence(k) for k in shortcuts or []]
    if keys:
        action.setShortcuts(keys)
    if icon_text:
        action.setIconText(icon_text)
    label = tip or text.replace("&", "").rstrip("…")
    shortcut = keys[0].toString(QKeySequence.SequenceFormat.NativeText) if keys else ""
    action.setToolTip(f"{label} ({shortcut})" if shortcut else label)
    action.setStatusTip(label)
    return action


def build_actions(parent: QObject, undo_stack: QUndoStack) -> WindowActions:
    # The stack's command texts name the edit ("Erase mask"): "Undo Erase mask".
    undo = undo_stack.createUndoAction(parent, "Undo")
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    undo.setToolTip("Undo the last mask stroke (Ctrl+Z; in a text box it undoes typing)")
    redo = undo_stack.createRedoAction(parent, "Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    redo.setToolTip("Redo a mask stroke (Ctrl+Shift+Z)")
    actions = WindowActions(
        open=_action(parent, "&Open Image…", [Key.Open], "Open an image as the input image"),
        paste=_action(parent, "&Paste Image", ["Ctrl+V"], "Paste an image as the input image"),
        save_as=_action(parent, "&Save Image As…", ["Ctrl+S"], "Save the shown image as PNG"),
        settings=_action(parent, "Se&ttings…", ["Ctrl+,"]),
        quit=_action(parent, "&Quit", ["Ctrl+Q"]),
        undo=undo,
        redo=redo,
        generate=_action(parent, "&Generate", ["Ctrl+Return", "Ctrl+Enter"], "Generate"),
        cancel=_action(parent, "&Cancel Running Job", ["Esc"]),
        use_as_input=_action(
            parent, "&Use as Input", ["Ctrl+Shift+U"], "Make the shown image the input image"
        ),
        show_input=_action(parent, "Show &Input Image", ["Ctrl+Shift+I"]),
        restore_shown=_action(
            parent, "&Restore Parameters of Shown Image", ["Ctrl+Shift+R"], "Restore parameters"
        ),
        image_info=_action(
            parent,
            "Image &Info…",
            ["Ctrl+Shift+P"],
            "Show the parameters stored in the shown image (PNG info)",
        ),
        clear_queue=_action(parent, "C&lear Waiting Jobs"),
        brush=_action(parent, "&Brush", ["B"], "Paint the mask", "Brush"),
        eraser=_action(parent, "&Eraser", ["E"], "Erase the mask", "Eraser"),
        brush_smaller=_action(parent, "Smaller Brush", ["["]),
        brush_larger=_action(parent, "Larger Brush", ["]"]),
        clear_mask=_action(parent, "&Clear Mask", [], "Clear the whole mask", "Clear"),
        invert_mask=_action(parent, "&Invert Mask", ["Ctrl+I"], "Invert the mask", "Invert"),
        fill_mask=_action(parent, "&Fill Mask", [], "Mask everything", "Fill"),
        save_mask=_action(parent, "&Save Mask…", [], "Save the mask as a PNG"),
        load_mask=_action(parent, "&Load Mask…", [], "Load a mask PNG (white = repaint)"),
        zoom_fit=_action(parent, "Zoom to &Fit", ["Ctrl+0"]),
        zoom_actual=_action(parent, "&Actual Pixels (100%)", ["Ctrl+1"]),
        zoom_in=_action(parent, "Zoom &In", [Key.ZoomIn, "Ctrl+="]),
        zoom_out=_action(parent, "Zoom &Out", [Key.ZoomOut]),
    )
    tools = QActionGroup(parent)
    for action in (actions.brush, actions.eraser):
        action.setCheckable(True)
        tools.addAction(action)
    actions.brush.setChecked(True)
    return actions


def build_menus(menubar: QMenuBar, a: WindowActions, docks: list[QDockWidget]) -> None:
    file = menubar.addMenu("&File")
    file.addActions([a.open, a.paste, a.save_as, a.image_info])
    file.addSeparator()
    file.addAction(a.settings)
    file.addSeparator()
    file.addAction(a.quit)
    edit = menubar.addMenu("&Edit")
    edit.addActions([a.undo, a.redo])
    generate = menubar.addMenu("&Generate")
    generate.addActions([a.generate, a.cancel, a.clear_queue])
    generate.addSeparator()
    generate.addActions([a.use_as_input, a.show_input, a.restore_shown])
    mask = menubar.addMenu("&Mask")
    mask.addActions([a.brush, a.eraser, a.brush_smaller, a.brush_larger])
    mask.addSeparator()
    mask.addActions([a.clear_mask, a.invert_mask, a.fill_mask])
    mask.addSeparator()
    mask.addActions([a.save_mask, a.load_mask])
    view = menubar.addMenu("&View")
    view.addActions([a.zoom_fit, a.zoom_actual, a.zoom_in, a.zoom_out])
    view.addSeparator()
    for dock in docks:
        view.addAction(dock.toggleViewAction())
