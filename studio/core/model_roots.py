"""Where other apps keep their models: candidate folders to offer the user ("Find my models").

ComfyUI, AUTOMATIC1111/Forge, InvokeAI, Fooocus and Stability Matrix keep their model folders
inside their install (or data) folder; the Hugging Face cache keeps diffusers repos as
`models--*/snapshots/<commit>/`. Installs sit in a handful of likely places (the home folder
and its first level, /opt, /mnt/*, /media/*/*), so only those are looked at: the search lists a
few folders and never walks a disk. Each found folder is counted with a bounded walk.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

MODEL_SUFFIXES = (".safetensors", ".sft", ".ckpt", ".gguf")
DIFFUSERS_MARKER = "model_index.json"
COUNT_DEPTH = 4  # InvokeAI: models/sd-1/main/<name>/model_index.json
COUNT_LIMIT = 20_000  # entries a count looks at before it stops (a folder of other things)


@dataclass(frozen=True)
class AppLayout:
    """An app's install folder names (glob, any case) and its model folders inside them."""

    app: str
    names: tuple[str, ...]
    model_folders: tuple[str, ...]


APP_LAYOUTS = (
    # The portable build unpacks to ComfyUI_windows_portable/ComfyUI; the desktop app keeps
    # its base folder in Documents/ComfyUI.
    AppLayout("ComfyUI", ("comfyui*",), ("models", "ComfyUI/models")),
    AppLayout("AUTOMATIC1111/Forge", ("stable-diffusion-webui*", "sd-webui*"), ("models",)),
    AppLayout("InvokeAI", ("invokeai",), ("models",)),
    AppLayout("Fooocus", ("fooocus*",), ("models",)),
    # The portable build keeps Data/ beside the program; installed, the data folder is the
    # library (~/.local/share/StabilityMatrix/Models).
    AppLayout(
        "Stability Matrix", ("stabilitymatrix*", "stability matrix*"), ("Data/Models", "Models")
    ),
)
HF_CACHE_APP = "Hugging Face cache"


@dataclass(frozen=True)
class FoundFolder:
    """A folder of models another app keeps: `files` is what a cheap count finds in it."""

    app: str
    folder: Path
    files: int


def find_model_folders(
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
    places: tuple[Path, ...] = (Path("/opt"), Path("/srv")),
    mounts: tuple[Path, ...] = (Path("/mnt"), Path("/media")),
) -> list[FoundFolder]:
    """Model folders of the apps installed in the likely places, each once, by app then path.

    `places` are searched for installs directly, `mounts` one and two levels down (a drive
    mounted at /mnt/data, or /media/<user>/<drive>).
    """
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME", "~")).expanduser() if home is None else home
    found: dict[Path, FoundFolder] = {}
    for app, folder in _candidates(home, environ, places, mounts):
        key = _resolved(folder)
        if key not in found:
            found[key] = FoundFolder(app, folder, count_model_files(folder))
    hub = _hf_hub(home, environ)
    repos = _diffusers_snapshots(hub)
    if repos and _resolved(hub) not in found:
        found[_resolved(hub)] = FoundFolder(HF_CACHE_APP, hub, repos)
    return sorted(found.values(), key=lambda f: (f.app.lower(), str(f.folder)))


def count_model_files(folder: Path) -> int:
    """Model files and diffusers folders within a few levels; folder links followed once."""
    count = 0
    seen: set[Path] = set()
    looked = 0
    stack = [(folder, 0)]
    while stack and looked < COUNT_LIMIT:
        current, depth = stack.pop()
        real = _resolved(current)
        if real in seen:
            continue
        seen.add(real)
        for entry in _entries(current):
            looked += 1
            name = entry.name.lower()
            if _is_dir(entry):
                if depth + 1 < COUNT_DEPTH and not name.startswith("."):
                    stack.append((Path(entry.path), depth + 1))
            elif name.endswith(MODEL_SUFFIXES) or name == DIFFUSERS_MARKER:
                count += 1
    return count


def _candidates(
    home: Path, environ: Mapping[str, str], places: tuple[Path, ...], mounts: tuple[Path, ...]
) -> Iterator[tuple[str, Path]]:
    invoke_root = environ.get("INVOKEAI_ROOT")
    if invoke_root and (Path(invoke_root) / "models").is_dir():
        yield "InvokeAI", Path(invoke_root) / "models"
    containers = [home, *_subfolders(home), home / ".local" / "share", *places]
    for mount in mounts:
        for drive in _subfolders(mount):
            containers += [drive, *_subfolders(drive)]
    for container in containers:
        for child in _subfolders(container):
            for layout in APP_LAYOUTS:
                if any(fnmatch.fnmatch(child.name.lower(), name) for name in layout.names):
                    for inner in layout.model_folders:
                        if (child / inner).is_dir():
                            yield layout.app, child / inner
                            break


def _hf_hub(home: Path, environ: Mapping[str, str]) -> Path:
    if environ.get("HF_HUB_CACHE"):
        return Path(environ["HF_HUB_CACHE"]).expanduser()
    if environ.get("HF_HOME"):
        return Path(environ["HF_HOME"]).expanduser() / "hub"
    return home / ".cache" / "huggingface" / "hub"


def _diffusers_snapshots(hub: Path) -> int:
    """Repos in the cache with a diffusers snapshot (a `model_index.json`)."""
    return sum(
        1
        for repo in _subfolders(hub)
        if repo.name.startswith("models--")
        and any((snap / DIFFUSERS_MARKER).is_file() for snap in _subfolders(repo / "snapshots"))
    )


def _subfolders(folder: Path) -> list[Path]:
    """Visible subfolders (links to folders included); none when `folder` cannot be read."""
    return [Path(e.path) for e in _entries(folder) if not e.name.startswith(".") and _is_dir(e)]


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _resolved(folder: Path) -> Path:
    try:
        return folder.resolve()
    except OSError:
        return folder
