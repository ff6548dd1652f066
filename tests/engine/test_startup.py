"""Importing the engine: cheap until first use, then torch loads with the GIL-friendly startup."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys
import studio.engine
before = "torch" in sys.modules
from studio.engine import Engine, ModelLibrary
from studio.engine import startup
maps = open("/proc/self/maps").read() if sys.platform.startswith("linux") else ""
print(json.dumps({
    "torch_before_use": before,
    "engine": Engine.__module__,
    "library": ModelLibrary.__module__,
    "gc_enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
    "preloaded": len(startup._preloaded),
    "libtorch_cpu_mapped": "libtorch_cpu.so" in maps,
}))
"""


def test_engine_imports_torch_on_first_use_with_the_collector_back_on():
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert "transformers" not in run.stderr  # no library advice on the console (torchvision)
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["torch_before_use"] is False  # the window imports studio.engine freely
    assert (report["engine"], report["library"]) == (
        "studio.engine.engine",
        "studio.engine.library",
    )
    assert report["gc_enabled"] is True
    assert report["frozen"] > 100_000  # torch's, diffusers' objects: out of later collections
    if sys.platform.startswith("linux"):
        assert report["preloaded"] == 2 and report["libtorch_cpu_mapped"]
