"""What the window's modules import before it shows: nothing heavy that a menu item can load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "diffusers", "transformers", "matplotlib")


def test_the_main_window_module_imports_no_engine_or_plotting_library():
    probe = (
        "import sys, studio.ui.main_window; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""  # the noise lab's matplotlib loads when the lab opens
