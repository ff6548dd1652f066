"""LoRA files: found in the model folders, told apart by family from their headers, and
applied to the resident pipeline with diffusers' LoRA loader (PEFT) without reloading it.

Each LoRA file is loaded into the pipeline once, as a named PEFT adapter, and stays there
while the model is resident; a generation then only switches adapters and weights
(`set_adapters`), and one without LoRAs disables them, which leaves the base weights exactly
as they were. A weight of 0 leaves its LoRA out of the active set, so it gives the same
pixels as no LoRA.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from diffusers import DiffusionPipeline

from studio.core.errors import ModelError, RequestError
from studio.core.loras import LoraInfo, LoraRef, safetensors_hash
from studio.core.models import ModelInfo
from studio.engine.checkpoints import SAFETENSORS_SUFFIXES, CheckpointHeader, read_header
from studio.engine.families import ADAPTERS, FamilyAdapter, adapter_for
from studio.engine.families.lora_keys import LoraTarget
from studio.engine.file_kinds import classify
from studio.engine.library import model_files, unique_name
from studio.engine.pipelines import ResidentModel

# Where the apps people come from keep LoRAs, inside a model folder or beside it
# (ComfyUI `models/loras` next to `models/checkpoints`; A1111 `models/Lora`, `models/LyCORIS`).
LORA_FOLDERS = ("loras", "Lora", "LyCORIS", "lora")
UNSUPPORTED_MARKERS = {
    ".hada_w1": "a LyCORIS LoHa, which diffusers cannot apply (LoRA and LoCon files work)",
    ".lokr_w1": "a LyCORIS LoKr, which diffusers cannot apply (LoRA and LoCon files work)",
}


@dataclass(frozen=True)
class LoraFile:
    info: LoraInfo
    target: LoraTarget | None
    stamp: tuple[int, int]  # size and modification time: a changed file is read again


class LoraLibrary:
    """The LoRA files under the model folders; headers and hashes are cached per file."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = list(folders)
        self._files: dict[Path, LoraFile] = {}
        self._hashes: dict[tuple[Path, tuple[int, int]], str] = {}
        self._lock = threading.Lock()

    def files(self) -> list[LoraFile]:
        """Every LoRA file found, by name; a name taken twice gets `-2`, `-3`, ..."""
        found: list[LoraFile] = []
        taken: set[str] = set()
        with self._lock:
            for path in model_files(self._roots()):
                if path.suffix.lower() not in SAFETENSORS_SUFFIXES:
                    continue  # a pickle is never opened for a LoRA
                lora = self._identify(path, unique_name(path.stem, taken))
                if lora is not None:
                    taken.add(lora.info.name)
                    found.append(lora)
        return found

    def for_model(self, info: ModelInfo) -> list[LoraInfo]:
        """The LoRAs made for `info`'s family, those that cannot be applied saying why."""
        adapter = adapter_for(info)
        return [lora.info for lora in self.files() if _fits(lora.target, adapter, info)]

    def resolve(self, name: str, info: ModelInfo, files: list[LoraFile] | None = None) -> LoraFile:
        """The usable LoRA `name` for `info` (among `files`, else a fresh scan); raises
        `RequestError` in one line otherwise."""
        files = self.files() if files is None else files
        lora = next((f for f in files if f.info.name == name), None)
        adapter = adapter_for(info)
        if lora is None:
            known = ", ".join(f.info.name for f in files if _fits(f.target, adapter, info))
            raise RequestError(f"unknown LoRA '{name}' (for this model: {known or 'none'})")
        if lora.info.problem is not None:
            raise RequestError(f"LoRA '{name}': {lora.info.problem}")
        if not _fits(lora.target, adapter, info):
            raise RequestError(
                f"LoRA '{name}' is for {lora.info.family_label}; "
                f"the model '{info.name}' is {info.family_label or info.family}"
            )
        return lora

    def short_hash(self, lora: LoraFile) -> str:
        """The webui's LoRA short hash, computed once per file version."""
        key = (lora.info.path, lora.stamp)
        if key not in self._hashes:
            self._hashes[key] = safetensors_hash(lora.info.path)
        return self._hashes[key]

    def apply(self, model: ResidentModel, refs: Iterable[LoraRef]) -> dict[str, str]:
        """Make `refs` the LoRAs active on `model`'s pipeline (all of its modes share the
        modules); returns their short hashes by name, for the image's parameters."""
        pipe = model.base
        refs = list(refs)
        files = self.files() if refs else []
        resolved = [(ref, self.resolve(ref.name, model.info, files)) for ref in refs]
        if resolved and not hasattr(pipe, "load_lora_weights"):
            raise RequestError(f"the model '{model.info.name}' cannot take LoRAs")
        loaded = _loaded_adapters(pipe)
        for _ref, lora in resolved:
            name = _adapter_name(lora)
            if name not in loaded:
                _load(pipe, lora, name)
        active = [(_adapter_name(lora), ref.weight) for ref, lora in resolved if ref.weight]
        if active:
            pipe.enable_lora()
            pipe.set_adapters([name for name, _ in active], [weight for _, weight in active])
        elif loaded or resolved:
            pipe.disable_lora()
        return {ref.name: self.short_hash(lora) for ref, lora in resolved}

    def _roots(self) -> list[Path]:
        roots: list[Path] = []
        for folder in self.folders:
            roots.append(folder)
            roots.extend(folder.parent / name for name in LORA_FOLDERS)
        return roots

    def _identify(self, path: Path, name: str) -> LoraFile | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        stamp = (stat.st_size, stat.st_mtime_ns)
        cached = self._files.get(path)
        if cached is None or cached.stamp != stamp:
            cached = _read_lora(path, stamp)
            self._files[path] = cached
        if cached.target is None and cached.info.problem is None:
            return None  # not a LoRA
        return LoraFile(
            LoraInfo(name, path, cached.info.family_label, cached.info.problem),
            cached.target,
            stamp,
        )


def _read_lora(path: Path, stamp: tuple[int, int]) -> LoraFile:
    """A file's LoRA identity from its header; target and problem None: not a LoRA."""
    nothing = LoraFile(LoraInfo(path.stem, path, ""), None, stamp)
    try:
        header = read_header(path)
    except ModelError:
        return nothing
    if classify(header).kind != "lora":
        return nothing
    target = next((t for t in (a.lora_target(header) for a in ADAPTERS) if t is not None), None)
    problem = _unsupported(header)
    if target is None and problem is None:
        problem = "a LoRA for a model family the studio does not know"
    label = target.label if target is not None else "an unknown family"
    return LoraFile(LoraInfo(path.stem, path, label, problem), target, stamp)


def _unsupported(header: CheckpointHeader) -> str | None:
    """Why diffusers cannot apply a LoRA-like file (LyCORIS LoHa/LoKr), or None."""
    for marker, why in UNSUPPORTED_MARKERS.items():
        if any(marker in name for name in header.tensors):
            return why
    return None


def _fits(target: LoraTarget | None, adapter: FamilyAdapter, info: ModelInfo) -> bool:
    if target is None or target.adapter != adapter.key:
        return False
    width = adapter.context_width(info)
    return target.width is None or width is None or target.width == width


def _loaded_adapters(pipe: DiffusionPipeline) -> set[str]:
    if not hasattr(pipe, "get_list_adapters"):
        return set()
    return set(itertools.chain.from_iterable(pipe.get_list_adapters().values()))


def _adapter_name(lora: LoraFile) -> str:
    """A PEFT adapter name (no dots) for one version of one file."""
    key = f"{os.fspath(lora.info.path)}|{lora.stamp[0]}|{lora.stamp[1]}"
    return "lora_" + hashlib.sha1(key.encode()).hexdigest()[:16]


def _load(pipe: DiffusionPipeline, lora: LoraFile, adapter: str) -> None:
    try:
        with warnings.catch_warnings():
            # Several adapters on one model is the point of the cache, not a mistake.
            warnings.filterwarnings("ignore", "Already found a `peft_config`", UserWarning)
            pipe.load_lora_weights(os.fspath(lora.info.path), adapter_name=adapter)
    except Exception as exc:  # diffusers and PEFT raise many kinds; all mean "cannot apply"
        if adapter in _loaded_adapters(pipe):
            pipe.delete_adapters(adapter)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RequestError(f"LoRA '{lora.info.name}' cannot be applied: {reason}") from exc
