"""What a ComfyUI server offers, from `/object_info` of its stock loader nodes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.models import ModelInfo
from studio.remote.connection import Connection
from studio.remote.samplers import REMOTE_SAMPLERS

# kind -> (loader node, input holding the file list)
LOADERS: dict[str, tuple[str, str]] = {
    "checkpoints": ("CheckpointLoaderSimple", "ckpt_name"),
    "diffusion_models": ("UNETLoader", "unet_name"),
    "vae": ("VAELoader", "vae_name"),
    "loras": ("LoraLoader", "lora_name"),
}
NEEDS_PARTS = "a diffusion model alone needs text encoders and a VAE chosen: not supported yet"


@dataclass(frozen=True)
class ServerCatalog:
    """File names per kind (`checkpoints`, `diffusion_models`, `vae`, `loras`)."""

    files: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def read(cls, connection: Connection) -> ServerCatalog:
        files = {}
        for kind, (node, name) in LOADERS.items():
            info = connection.get_json(f"/object_info/{node}")
            files[kind] = _choices(info.get(node), name)
        return cls(files)

    def models(self) -> list[ModelInfo]:
        """Checkpoints run; diffusion models are listed with the reason they cannot yet."""
        infos = [_model(name, "checkpoint") for name in self.files.get("checkpoints", ())]
        infos += [
            _model(name, "diffusion model", NEEDS_PARTS)
            for name in self.files.get("diffusion_models", ())
        ]
        return infos

    def runnable(self) -> set[str]:
        return set(self.files.get("checkpoints", ()))


def _choices(node: Any, name: str) -> tuple[str, ...]:
    """A loader input's file list: `input.required.<name>[0]`; empty when the node is absent."""
    try:
        choices = node["input"]["required"][name][0]
    except (KeyError, IndexError, TypeError):
        return ()
    return tuple(c for c in choices if isinstance(c, str))


def _model(name: str, kind: str, problem: str | None = None) -> ModelInfo:
    path = Path(name)
    return ModelInfo(
        id=name,
        name=path.stem,
        family="unknown",
        format=path.suffix.lstrip(".") or "file",
        path=path,  # the server's name for it, relative to its models folder
        samplers=REMOTE_SAMPLERS,
        family_label=f"ComfyUI {kind}",
        problem=problem,
    )
