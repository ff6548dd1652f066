"""The layers stay apart (import-linter contracts in pyproject.toml) and the code is ruff-clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_import_contracts_hold():
    run = subprocess.run([BIN / "lint-imports"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 5 kept, 0 broken" in run.stdout


def test_ruff_finds_nothing():
    run = subprocess.run(
        [BIN / "ruff", "check", "studio", "tests", "main.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
