"""Finding other apps' model folders in the likely places, on fake trees under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.model_roots import FoundFolder, count_model_files, find_model_folders


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("INVOKEAI_ROOT", raising=False)
    return home


def _find(tmp_path: Path) -> list[FoundFolder]:
    """Search with /opt and the mounts replaced by folders under tmp_path."""
    return find_model_folders(
        places=(tmp_path / "opt",), mounts=(tmp_path / "mnt", tmp_path / "media")
    )


def test_every_app_is_found_where_its_users_keep_it(home, tmp_path):
    _touch(home / "ComfyUI" / "models" / "checkpoints" / "a.safetensors")
    _touch(home / "ComfyUI" / "models" / "unet" / "flux.gguf")
    _touch(home / "AI" / "stable-diffusion-webui-forge" / "models" / "Stable-diffusion" / "b.ckpt")
    _touch(home / "invokeai" / "models" / "sd-1" / "main" / "c" / "model_index.json")
    _touch(home / "Fooocus" / "models" / "checkpoints" / "d.safetensors")
    _touch(home / ".local" / "share" / "StabilityMatrix" / "Models" / "StableDiffusion" / "e.sft")
    _touch(tmp_path / "opt" / "StabilityMatrix" / "Data" / "Models" / "Lora" / "f.safetensors")
    _touch(tmp_path / "mnt" / "data" / "ComfyUI_windows_portable" / "ComfyUI" / "models" / "g.ckpt")
    found = {(f.app, f.folder): f.files for f in _find(tmp_path)}
    assert found == {
        ("ComfyUI", home / "ComfyUI" / "models"): 2,
        ("ComfyUI", tmp_path / "mnt/data/ComfyUI_windows_portable/ComfyUI/models"): 1,
        ("AUTOMATIC1111/Forge", home / "AI" / "stable-diffusion-webui-forge" / "models"): 1,
        ("InvokeAI", home / "invokeai" / "models"): 1,
        ("Fooocus", home / "Fooocus" / "models"): 1,
        ("Stability Matrix", home / ".local/share/StabilityMatrix/Models"): 1,
        ("Stability Matrix", tmp_path / "opt/StabilityMatrix/Data/Models"): 1,
    }


def test_the_hugging_face_cache_counts_diffusers_repos_only(home, tmp_path, monkeypatch):
    hub = tmp_path / "hf" / "hub"
    _touch(hub / "models--org--pipe" / "snapshots" / "abc" / "model_index.json")
    _touch(hub / "models--org--bert" / "snapshots" / "abc" / "config.json")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert _find(tmp_path) == [FoundFolder("Hugging Face cache", hub, 1)]
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert _find(tmp_path) == []


def test_a_folder_reached_twice_is_offered_once(home, tmp_path):
    _touch(home / "ComfyUI" / "models" / "checkpoints" / "a.safetensors")
    (home / "Documents").mkdir()
    (home / "Documents" / "ComfyUI").symlink_to(home / "ComfyUI", target_is_directory=True)
    assert [f.folder for f in _find(tmp_path)] == [home / "ComfyUI" / "models"]


def test_counting_follows_links_once_and_stops_deep_down(tmp_path):
    models = tmp_path / "models"
    _touch(models / "checkpoints" / "a.safetensors")
    _touch(models / "checkpoints" / "notes.txt")
    _touch(models / "a" / "b" / "c" / "d" / "too-deep.safetensors")
    (models / "checkpoints" / "loop").symlink_to(models, target_is_directory=True)
    assert count_model_files(models) == 1


def test_nothing_installed_finds_nothing(home, tmp_path):
    (home / "Pictures").mkdir()
    assert _find(tmp_path) == []
