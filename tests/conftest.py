"""Shared fixtures: every test gets a fresh, private app home."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_home(tmp_path, monkeypatch):
    """All of the app's config, data and outputs go to a temp folder (napari's _fresh_settings)."""
    home = tmp_path / "snail-home"
    monkeypatch.setenv("SNAIL_STUDIO_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home
