"""The model library: finds models on disk and tells what each is, without loading weights.

Models are known by id: the embedded `snail-mini`, and each diffusers folder found in the
configured model folders under its folder name. A path to a model folder works as an id too.
Only local files are read; nothing is ever downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from studio.core.errors import ModelError
from studio.core.models import ModelInfo
from studio.core.paths import embedded_models_dir
from studio.core.request import MAX_GUIDANCE
from studio.core.schedulers import samplers_for
from studio.engine.previews import PREVIEW_FILE

EMBEDDED_ID = "snail-mini"
SUPPORTED_PIPELINES = {"StableDiffusionPipeline"}


class ModelLibrary:
    def __init__(self, folders: Sequence[Path] = (), embedded_dir: Path | None = None) -> None:
        self.folders = [Path(f).expanduser() for f in folders]
        self.embedded_dir = embedded_dir if embedded_dir is not None else embedded_models_dir()

    def models(self) -> list[ModelInfo]:
        """Every usable model, the embedded one first; unreadable folders are skipped."""
        found: list[ModelInfo] = []
        embedded = self.embedded_dir / EMBEDDED_ID
        if (embedded / "model_index.json").is_file():
            found.append(identify(embedded, model_id=EMBEDDED_ID, embedded=True))
        seen = {m.id for m in found}
        for folder in self.folders:
            if not folder.is_dir():
                continue
            for candidate in sorted(folder.iterdir()):
                if not (candidate / "model_index.json").is_file():
                    continue
                try:
                    info = identify(candidate, model_id=_unique(candidate.name, seen))
                except ModelError:
                    continue
                seen.add(info.id)
                found.append(info)
        return found

    def resolve(self, ref: str) -> ModelInfo:
        """A model by id or by path; raises `ModelError` with what is wrong."""
        for info in self.models():
            if info.id == ref:
                return info
        path = Path(ref).expanduser()
        if path.exists():
            return identify(path.resolve(), model_id=path.name)
        known = ", ".join(m.id for m in self.models()) or "none"
        raise ModelError(f"unknown model '{ref}' (known: {known}); give an id or a model folder")


def identify(path: Path, model_id: str, embedded: bool = False) -> ModelInfo:
    """Read a diffusers folder's configs and say what model it is."""
    if path.is_file():
        raise ModelError(
            f"{path.name}: single-file checkpoints are not supported yet; use a diffusers folder"
        )
    index = _read_json(path / "model_index.json", what="model_index.json")
    pipeline = index.get("_class_name")
    if pipeline not in SUPPORTED_PIPELINES:
        raise ModelError(
            f"{path.name}: unsupported pipeline {pipeline!r} (supported: Stable Diffusion 1.x/2.x)"
        )
    for component in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        if not (path / component).is_dir():
            raise ModelError(
                f"{path.name}: not a complete diffusers folder, '{component}/' is missing"
            )
    unet = _read_json(path / "unet" / "config.json", what="unet/config.json")
    vae = _read_json(path / "vae" / "config.json", what="vae/config.json")
    extras = _read_optional_json(path / PREVIEW_FILE)
    schedule = _read_optional_json(path / "scheduler" / "scheduler_config.json")
    scale = 2 ** (len(vae.get("block_out_channels", [0] * 4)) - 1)
    side = int(unet.get("sample_size", 64)) * scale
    family = extras.get("family") or _family_from_unet(unet)
    return ModelInfo(
        id=model_id,
        name=extras.get("name", model_id),
        family=family,
        format="diffusers",
        path=path,
        native_size=(side, side),
        embedded=embedded,
        samplers=samplers_for(schedule),
        recommended_guidance=_recommended_guidance(extras),
    )


def _recommended_guidance(extras: dict[str, Any]) -> float | None:
    """`defaults.guidance_scale` of the model's sidecar file, when it is a sane number."""
    defaults = extras.get("defaults")
    value = defaults.get("guidance_scale") if isinstance(defaults, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= MAX_GUIDANCE else None


def _family_from_unet(unet: dict[str, Any]) -> str:
    cross = unet.get("cross_attention_dim")
    if cross == 1024:
        return "sd2"
    return "sd1" if cross == 768 else "sd-custom"


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


def _read_optional_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate
