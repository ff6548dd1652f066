"""Start the studio: a QApplication on a qasync loop, the window first, the engine after.

The window shows before anything heavy happens; `MainWindow.start()` then starts the worker
thread, where the engine (and torch) are imported. State lives under AppPaths (JSON files in
the config and data folders), never in QSettings or the registry.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable

import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from studio.core.paths import RESOURCES, AppPaths
from studio.core.settings import Settings
from studio.ui.main_window import MainWindow
from studio.ui.theme import apply_dark_theme
from studio.ui.worker import EngineFactory, default_engine_factory

APP_NAME = "Snail Studio"
DESKTOP_ID = "io.github.snailstudio.SnailStudio"  # packaging/<id>.desktop and .metainfo.xml
APP_ICON = RESOURCES / "icons" / "snail-studio.svg"
log = logging.getLogger(__name__)


def create_application(argv: list[str]) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName(DESKTOP_ID)
    app.setWindowIcon(QIcon(str(APP_ICON)))
    # The main window's close ends the coroutine below; dialogs left open must not keep it alive.
    app.setQuitOnLastWindowClosed(False)
    apply_dark_theme(app)
    return app


async def run_window(
    engine_factory: EngineFactory = default_engine_factory,
    on_started: Callable[[MainWindow], None] | None = None,
) -> int:
    """Show the window, start the engine worker, and wait until the window closes."""
    paths = AppPaths.from_environment()
    settings = Settings.load(paths.settings_file)
    window = MainWindow(paths, settings, engine_factory)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    window.show()
    await asyncio.sleep(0)  # one turn of the loop: the window paints before the worker starts
    window.start()
    if on_started is not None:
        on_started(window)
    await closed.wait()
    if not window.engine_stopped:
        # The engine is inside one long step and cannot be interrupted there. Everything is
        # saved; exit now rather than let Qt abort on a QThread that is still running.
        log.warning("the engine is still busy; exiting without waiting for it")
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    create_application(list(sys.argv if argv is None else argv))
    return qasync.run(run_window())


if __name__ == "__main__":
    sys.exit(main())
