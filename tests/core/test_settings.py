"""Settings files (missing, corrupt, partial) and where the app keeps its files."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from studio.core.files import write_text_atomic
from studio.core.models import ModelInfo
from studio.core.paths import HOME_ENV, AppPaths
from studio.core.settings import Settings


def test_missing_file_gives_defaults(tmp_path):
    assert Settings.load(tmp_path / "nope.json") == Settings()


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"[1, 2, 3]", b'"a string"', b"\xff\xfe\x00garbage"],
)
def test_corrupt_file_gives_defaults(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    assert Settings.load(path) == Settings()


def test_folder_in_place_of_the_file_gives_defaults(tmp_path):
    (tmp_path / "settings.json").mkdir()
    assert Settings.load(tmp_path / "settings.json") == Settings()


def test_partial_file_keeps_what_is_there(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"default_steps": 35, "model_folders": ["/models"]}))
    settings = Settings.load(path)
    assert settings.default_steps == 35
    assert settings.model_folders == ["/models"]
    assert settings.default_scheduler == Settings().default_scheduler
    assert settings.precision == "auto"


def test_wrong_types_and_unknown_keys_are_dropped(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps({"default_steps": "many", "output_dir": 5, "unknown": 1, "default_width": 768})
    )
    settings = Settings.load(path)
    assert settings.default_steps == Settings().default_steps
    assert settings.output_dir == ""
    assert settings.default_width == 768
    assert not hasattr(settings, "unknown")


def test_unknown_precision_falls_back_to_auto(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"precision": "fp4", "default_guidance": 5.5}))
    settings = Settings.load(path)
    assert settings.precision == "auto"
    assert settings.default_guidance == 5.5


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "config" / "settings.json"  # folder does not exist yet
    settings = Settings(
        model_folders=["/a", "/b ünï"], default_steps=12, precision="bf16", default_guidance=3.0
    )
    settings.save(path)
    assert Settings.load(path) == settings
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]  # no temp file left


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX's")
def test_the_settings_file_holding_server_tokens_is_the_users_alone(tmp_path):
    path = tmp_path / "settings.json"
    Settings(servers=[{"url": "https://gpu-box:8188", "token": "s3cret"}]).save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Settings.load(path).servers[0]["token"] == "s3cret"


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    path.write_text("old")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("studio.core.files.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_paths_honour_snail_studio_home(fresh_home):
    paths = AppPaths.from_environment()
    assert paths.config_dir == fresh_home / "config"
    assert paths.data_dir == fresh_home / "data"
    assert paths.outputs_dir == fresh_home / "outputs"
    assert paths.settings_file == fresh_home / "config" / "settings.json"
    assert paths.history_db == fresh_home / "data" / "history.sqlite"
    assert paths.session_file == fresh_home / "data" / "session.json"
    assert not fresh_home.exists()  # nothing is created just by asking


def test_home_with_a_tilde_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(HOME_ENV, "~/studio")
    assert AppPaths.from_environment().config_dir == tmp_path / "studio" / "config"


def test_without_the_variable_platform_folders_are_used(monkeypatch, fresh_home):
    monkeypatch.delenv(HOME_ENV)
    paths = AppPaths.from_environment()
    for folder in (paths.config_dir, paths.data_dir, paths.outputs_dir):
        assert isinstance(folder, Path)
        assert fresh_home not in folder.parents
    assert "snail-studio" in str(paths.config_dir)
    assert paths.outputs_dir.name == "Snail Studio"


def test_guidance_for_a_model_is_its_recommendation_else_the_default():
    settings = Settings(default_guidance=6.0)
    plain = ModelInfo("sd", "SD", "sd1", "diffusers", Path("/m/sd"))
    tuned = dataclasses.replace(plain, recommended_guidance=2.0)
    assert (settings.guidance_for(None), settings.guidance_for(plain)) == (6.0, 6.0)
    assert settings.guidance_for(tuned) == 2.0


def test_steps_start_from_what_the_models_family_needs():
    settings = Settings(default_steps=30)
    schnell = ModelInfo(
        id="s", name="s", family="flux", format="gguf", path=Path("s"), default_steps=4
    )
    sd = ModelInfo(id="m", name="m", family="sd1", format="diffusers", path=Path("m"))
    assert [settings.steps_for(m) for m in (schnell, sd, None)] == [4, 30, 30]


def test_servers_round_trip_and_malformed_entries_are_dropped(tmp_path):
    path = tmp_path / "settings.json"
    good = [{"url": "http://gpu:8188", "token": "t"}, {"url": "https://b"}]
    path.write_text(json.dumps({"servers": [*good, "http://bare", {"token": "x"}, {"url": " "}]}))
    loaded = Settings.load(path)
    assert loaded.servers == [good[0], {"url": "https://b", "token": ""}]
    loaded.save(path)
    assert Settings.load(path).servers == loaded.servers
