"""The dark theme: Fusion with a dark palette and a few accents (Generate, mode, notices)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#d08a3a"  # a warm snail-shell amber
ROLES = {
    QPalette.ColorRole.Window: "#2a2b2f",
    QPalette.ColorRole.WindowText: "#dedee3",
    QPalette.ColorRole.Base: "#1e1f22",
    QPalette.ColorRole.AlternateBase: "#26272b",
    QPalette.ColorRole.ToolTipBase: "#34353a",
    QPalette.ColorRole.ToolTipText: "#e8e8ec",
    QPalette.ColorRole.PlaceholderText: "#7f8088",
    QPalette.ColorRole.Text: "#dedee3",
    QPalette.ColorRole.Button: "#35363b",
    QPalette.ColorRole.ButtonText: "#dedee3",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Link: "#6fb1ff",
    QPalette.ColorRole.Highlight: "#3f6fb5",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Light: "#45464c",
    QPalette.ColorRole.Midlight: "#3a3b40",
    QPalette.ColorRole.Mid: "#2f3034",
    QPalette.ColorRole.Dark: "#1a1b1e",
    QPalette.ColorRole.Shadow: "#0e0e10",
}
DISABLED = "#6c6d74"

STYLE = f"""
QPushButton#generateButton {{
    background: {ACCENT}; color: #1b1409; font-weight: bold;
    border: none; border-radius: 5px; padding: 9px 14px;
}}
QPushButton#generateButton:hover {{ background: #e09a48; }}
QPushButton#generateButton:pressed {{ background: #b87630; }}
QToolButton#modeButton {{
    padding: 5px 3px; border: 1px solid #45464c; background: #303136;
}}
QToolButton#modeButton:checked {{ background: {ACCENT}; color: #1b1409; border-color: {ACCENT}; }}
QToolButton:checked {{ background: #55565e; border: 1px solid #7a7b84; border-radius: 3px; }}
QLabel#caption {{ color: #9b9ca4; }}
QLineEdit[locked="true"] {{ border: 2px solid {ACCENT}; background: #3b2e1c; font-weight: bold; }}
QToolButton#seedLock:checked {{ background: {ACCENT}; color: #1b1409; border-color: {ACCENT}; }}
QLabel#inputThumb {{ background: #1e1f22; border: 1px solid #3a3b40; }}
QFrame#notice {{ border-radius: 4px; margin: 6px; }}
QFrame#notice[kind="error"] {{ background: #5c2529; border: 1px solid #a8434a; }}
QFrame#notice[kind="info"] {{ background: #24405f; border: 1px solid #3f6fb5; }}
QDockWidget::title {{ padding: 4px 8px; background: #232427; }}
QStatusBar QLabel#modelStatus {{ color: #b9bac1; padding: 0 6px; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in ROLES.items():
        palette.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DISABLED))
    app.setPalette(palette)
    app.setStyleSheet(STYLE)
