"""The model library: finds models on disk and tells what each is, without loading weights.

Models are known by id: the embedded `snail-mini`, and each diffusers folder or single file
found (recursively) in the configured model folders, under its folder or file name. A path
works as an id too. A model that cannot run is listed with the reason; component files
(LoRAs, VAEs, text encoders) are not models and are left out of the list. Only local files
are read; nothing is ever downloaded.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from diffusers.loaders.single_file_utils import infer_diffusers_model_type

from studio.core.errors import ModelError
from studio.core.identity_cache import IdentityCache, Stamp
from studio.core.models import ModelInfo
from studio.core.paths import embedded_models_dir
from studio.core.request import MAX_GUIDANCE
from studio.core.schedulers import FLOW_SAMPLERS, samplers_for
from studio.engine import devices
from studio.engine.checkpoints import CHECKPOINT_SUFFIXES, read_header
from studio.engine.components import ModelTree
from studio.engine.families import by_model_type, by_pipeline
from studio.engine.families.base import read_config
from studio.engine.file_kinds import classify
from studio.engine.previews import PREVIEW_FILE

EMBEDDED_ID = "snail-mini"
SD_UNET_KEY = "model.diffusion_model.input_blocks.0.0.weight"


class ModelLibrary:
    """The models in `folders`; with a `cache`, what each file is is remembered across
    listings and starts (a warm listing reads no headers)."""

    def __init__(
        self,
        folders: Sequence[Path] = (),
        embedded_dir: Path | None = None,
        cache: IdentityCache | None = None,
    ) -> None:
        self.folders = [Path(f).expanduser() for f in folders]
        self.embedded_dir = embedded_dir if embedded_dir is not None else embedded_models_dir()
        self.cache = cache

    def models(self, on_progress: Callable[[int, int], None] | None = None) -> list[ModelInfo]:
        """Every model found, the embedded one first; those that cannot run say why.
        `on_progress(done, total)` follows the files and folders looked at."""
        found: list[ModelInfo] = []
        embedded = self.embedded_dir / EMBEDDED_ID
        if (embedded / "model_index.json").is_file():
            found.append(identify(embedded, model_id=EMBEDDED_ID, embedded=True))
        taken = {m.id for m in found}
        known = self.cache.snapshot() if self.cache is not None else {}
        candidates = list(model_files(self.folders))
        for done, path in enumerate(candidates):
            if on_progress is not None:
                on_progress(done, len(candidates))
            repo = _hub_repo(path)
            model_id = unique_name(repo.split("/")[-1] if repo else _stem(path), taken)
            info = self._identified(path, model_id, known)
            if info is None:
                continue  # a LoRA, a VAE, a text encoder: parts, not models
            if repo and info.name == model_id:
                info = dataclasses.replace(info, name=repo)
            taken.add(info.id)
            found.append(info)
        if on_progress is not None:
            on_progress(len(candidates), len(candidates))
        return found

    def remember_hash(self, path: Path, digest: str) -> None:
        """Keep a file's SHA-256 (computed while it was read for loading) with its identity."""
        if self.cache is not None:
            self.cache.store_sha256(path, Stamp.of(path, _depends_on(path)), digest)

    def _identified(
        self, path: Path, model_id: str, known: dict[str, tuple[Stamp, dict | None, str | None]]
    ) -> ModelInfo | None:
        """What `path` is: from the cache while the file is unchanged, else from its header."""
        try:
            stamp = Stamp.of(path, _depends_on(path))
        except OSError as exc:
            return unusable(path, model_id, f"cannot read it ({exc.strerror or exc})")
        cached = known.get(str(path))
        if cached is not None and cached[0] == stamp:
            data, digest = cached[1], cached[2]
            if data is None:
                return None
            info = ModelInfo.from_dict(data)
            name = model_id if info.name == info.id else info.name
            short_hash = digest[:10] if digest else None
            return dataclasses.replace(info, id=model_id, name=name, short_hash=short_hash)
        try:
            info = identify(path, model_id=model_id)
        except ComponentFileError:
            info = None
        except ModelError as exc:
            info = unusable(path, model_id, str(exc))
        if self.cache is not None:
            self.cache.store(path, stamp, info.to_dict() if info is not None else None)
        return info

    def resolve(self, ref: str) -> ModelInfo:
        """A usable model by id or by path; raises `ModelError` with what is wrong."""
        listed = self.models()
        info = next((m for m in listed if m.id == ref), None)
        if info is None:
            path = Path(ref).expanduser()
            if not path.exists():
                known = ", ".join(m.id for m in listed if m.usable) or "none"
                raise ModelError(
                    f"unknown model '{ref}' (known: {known}); give an id, a file or a folder"
                )
            info = identify_path(path)
        if info.problem is not None:
            raise ModelError(f"{info.name}: {info.problem}")
        return info


class ComponentFileError(ModelError):
    """A file that is part of a model (LoRA, VAE, text encoder...), not a model itself."""


def identify(path: Path, model_id: str, embedded: bool = False) -> ModelInfo:
    """Say what model a diffusers folder or a single file is, from configs or the header."""
    if path.is_file():
        return _identify_file(path, model_id)
    if not (path / "model_index.json").exists():
        raise ModelError(f"{path.name}: not a model (no model_index.json and not a file)")
    return _identify_folder(path, model_id, embedded)


def identify_path(path: Path) -> ModelInfo:
    """A model given by its path (not found in the model folders), known by its name."""
    return identify(path.resolve(), model_id=_stem(path))


def unusable(path: Path, model_id: str, reason: str) -> ModelInfo:
    """A listed model that cannot run: `problem` says why (without repeating its name)."""
    prefix = f"{path.name}: "
    return ModelInfo(
        id=model_id,
        name=model_id,
        family="unknown",
        format="diffusers" if path.is_dir() else path.suffix.lower().lstrip("."),
        path=path,
        problem=reason.removeprefix(prefix),
    )


def _identify_folder(path: Path, model_id: str, embedded: bool) -> ModelInfo:
    index = _read_json(path / "model_index.json", what="model_index.json")
    pipeline = index.get("_class_name")
    adapter = by_pipeline(str(pipeline))
    if adapter is None:
        raise ModelError(
            f"{path.name}: unsupported pipeline {pipeline!r} "
            "(supported: Stable Diffusion 1.x/2.x, SDXL, SD3/3.5, FLUX.1)"
        )
    for component in ("vae", "scheduler"):
        if not (path / component).is_dir():
            raise ModelError(
                f"{path.name}: not a complete diffusers folder, '{component}/' is missing"
            )
    variant = adapter.variant_of_folder(path, index)
    extras = read_config(path / PREVIEW_FILE)
    schedule = read_config(path / "scheduler" / "scheduler_config.json")
    info = ModelInfo(
        id=model_id,
        name=extras.get("name", model_id),
        family=extras.get("family") or variant.family,
        family_label=str(extras.get("family_label") or extras.get("family") or ""),
        format="diffusers",
        path=path,
        native_size=_sidecar_size(extras) or _folder_native_size(path, variant.native),
        embedded=embedded,
        recommended_guidance=_recommended_guidance(extras),
        parameters=_folder_parameters(path),
        file_bytes=sum(f.stat().st_size for f in path.glob("*/*") if f.is_file()),
    )
    info = adapter.describe(info, variant, None, ModelTree())
    samplers = FLOW_SAMPLERS if adapter.flow_matching else samplers_for(schedule)
    return _with_memory(dataclasses.replace(info, samplers=samplers))


def _identify_file(path: Path, model_id: str) -> ModelInfo:
    header = read_header(path)
    kind = classify(header)
    if kind.kind != "model":
        if kind.kind == "unknown":
            raise ModelError(f"{path.name}: {kind.describe()}")
        raise ComponentFileError(f"{path.name}: {kind.describe()}")
    model_type = infer_diffusers_model_type(header.shapes())
    if model_type == "v1" and SD_UNET_KEY not in header.tensors:
        model_type = "unknown"  # diffusers answers "v1" for whatever it does not know
    found = by_model_type(model_type)
    if found is None:
        kind = "an unknown architecture" if model_type == "unknown" else f"a {model_type} model"
        raise ModelError(
            f"{path.name}: {kind}, which the studio does not run "
            "(supported: Stable Diffusion 1.x/2.x, SDXL, SD3/3.5, FLUX.1)"
        )
    adapter, variant = found
    info = ModelInfo(
        id=model_id,
        name=model_id,
        family=variant.family,
        format=header.format,
        path=path,
        native_size=_folder_native_size(variant.config_dir, variant.native),
        file_bytes=path.stat().st_size,
        parameters=header.parameters,
    )
    info = adapter.describe(info, variant, header, ModelTree.around(path))
    schedule = read_config(variant.config_dir / "scheduler" / "scheduler_config.json")
    samplers = (
        FLOW_SAMPLERS
        if adapter.flow_matching
        else samplers_for({**schedule, **dict(info.schedule)})
    )
    return _with_memory(dataclasses.replace(info, samplers=samplers))


def _with_memory(info: ModelInfo) -> ModelInfo:
    """A model whose weights cannot fit this machine even in bf16 says so in its problem."""
    if info.problem is not None or (info.memory_bytes or 0) <= devices.memory_budget():
        return info
    return dataclasses.replace(
        info,
        problem=(
            f"needs about {info.memory_bytes / 1e9:.1f} GB of memory for its weights in bf16; "
            f"this machine has {devices.total_memory() / 1e9:.1f} GB "
            "(a GGUF-quantized file needs less)"
        ),
    )


def _stem(path: Path) -> str:
    return path.stem if path.is_file() else path.name


def _hub_repo(path: Path) -> str | None:
    """'org/name' for a diffusers repo in the Hugging Face cache
    (`models--org--name/snapshots/<commit>`), whose folder name is only a commit hash."""
    if path.parent.name != "snapshots" or not path.parent.parent.name.startswith("models--"):
        return None
    return path.parent.parent.name.removeprefix("models--").replace("--", "/")


def _depends_on(path: Path) -> list[Path]:
    """The folders whose contents decide what `path` is: a file's component folders (a text
    encoder added later makes a FLUX.1 file usable); a diffusers folder's subfolders."""
    if path.is_file():
        return list(ModelTree.around(path).roots)
    return [path, *sorted(p for p in path.iterdir() if p.is_dir())]


def _folder_native_size(path: Path, default: int) -> tuple[int, int]:
    for component in ("unet", "transformer"):
        config = read_config(path / component / "config.json")
        if "sample_size" in config:
            vae = read_config(path / "vae" / "config.json")
            scale = 2 ** (len(vae.get("block_out_channels", [0] * 4)) - 1)
            side = int(config["sample_size"]) * scale
            return side, side
    return default, default


def _sidecar_size(extras: dict[str, Any]) -> tuple[int, int] | None:
    """`native_size` [width, height] from the model's sidecar file, when it names one."""
    size = extras.get("native_size")
    if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size):
        return size[0], size[1]
    return None


def _folder_parameters(path: Path) -> int:
    total = 0
    for weights in path.glob("*/*.safetensors"):
        try:
            total += read_header(weights).parameters
        except ModelError:
            continue
    return total


def model_files(folders: Sequence[Path]) -> Iterator[Path]:
    """Diffusers folders and checkpoint files under `folders`, recursively; a folder link
    is followed once, and a file reached twice is listed once."""
    seen: set[str] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for root, dirs, files in os.walk(folder, followlinks=True):
            real = os.path.realpath(root)
            if real in seen:
                dirs[:] = []
                continue
            seen.add(real)
            here = Path(root)
            if "model_index.json" in files:
                dirs[:] = []
                yield here
                continue
            dirs.sort()
            for name in sorted(files):
                path = here / name
                target = os.path.realpath(path)
                if path.suffix.lower() in CHECKPOINT_SUFFIXES and target not in seen:
                    seen.add(target)
                    yield path


def _recommended_guidance(extras: dict[str, Any]) -> float | None:
    """`defaults.guidance_scale` of the model's sidecar file, when it is a sane number."""
    defaults = extras.get("defaults")
    value = defaults.get("guidance_scale") if isinstance(defaults, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= MAX_GUIDANCE else None


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path.parent.name}: {what} is missing") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path.parent.name}: {what} is unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path.parent.name}: {what} is not a JSON object")
    return data


def unique_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate
