from __future__ import annotations

from PySide6.QtGui import QIcon

from studio.ui.app import APP_ICON


def test_the_app_icon_renders_at_taskbar_and_dock_sizes(qapp):
    icon = QIcon(str(APP_ICON))
    for size in (16, 32, 256):
        image = icon.pixmap(size, size).toImage()
        assert (image.width(), image.height()) == (size, size)
        # The tile is opaque in the middle: an unreadable file would give a transparent pixmap.
        assert image.pixelColor(size // 2, size // 2).alpha() == 255
