"""What an installed studio needs: resources in the wheel, a valid desktop entry and metainfo."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from studio.core.paths import RESOURCES, embedded_models_dir

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.snailstudio.SnailStudio"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
NEEDED = (
    "models/snail-mini/model_index.json",
    "models/snail-mini/unet/diffusion_pytorch_model.safetensors",
    "tokenizers/clip/vocab.json",
    "icons/snail-studio.svg",
)


def test_resources_live_in_the_package():
    assert RESOURCES.parent == ROOT / "studio"
    assert embedded_models_dir() == RESOURCES / "models"
    for name in NEEDED:
        assert (RESOURCES / name).is_file(), name


def test_the_wheel_carries_the_model_tokenizers_and_icon(tmp_path):
    pytest.importorskip("setuptools")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("snail_studio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in NEEDED:
        assert f"studio/resources/{name}" in names, name


def test_desktop_entry_runs_the_script_with_the_shipped_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(DESKTOP, encoding="utf-8")
    fields = entry["Desktop Entry"]
    assert fields["Exec"] == "snail-studio"
    assert (RESOURCES / "icons" / f"{fields['Icon']}.svg").is_file()
    assert f'<launchable type="desktop-id">{DESKTOP.name}</launchable>' in METAINFO.read_text()


def test_the_window_names_its_desktop_entry():
    from studio.ui.app import DESKTOP_ID

    assert DESKTOP_ID == APP_ID


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils")
def test_desktop_entry_validates():
    run = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == "", run.stdout


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstream")
def test_metainfo_validates():
    run = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_snail_studio_with_no_command_opens_the_window(monkeypatch):
    import studio.ui.app
    from studio import cli

    opened = []
    monkeypatch.setattr(studio.ui.app, "main", lambda argv: opened.append(argv) or 0)
    assert cli.main([]) == 0
    assert opened == [[]]
