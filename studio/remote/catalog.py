"""What a ComfyUI server offers, from `/object_info` of its stock loader nodes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.models import ModelInfo
from studio.core.schedulers import FLOW_SAMPLERS
from studio.remote.connection import Connection
from studio.remote.families import (
    Checkpoint,
    DiffusionModel,
    RemoteFamily,
    family_of,
    with_parts,
)
from studio.remote.node_specs import choices, input_spec
from studio.remote.samplers import REMOTE_SAMPLERS
from studio.remote.workflows import ModelSource

# kind -> (loader node, input holding the file list). Text encoders: `models/text_encoders`
# and `models/clip`; diffusion models: `models/diffusion_models` and `models/unet`.
LOADERS: dict[str, tuple[str, str]] = {
    "checkpoints": ("CheckpointLoaderSimple", "ckpt_name"),
    "diffusion_models": ("UNETLoader", "unet_name"),
    "text_encoders": ("DualCLIPLoader", "clip_name1"),
    "vae": ("VAELoader", "vae_name"),
    "loras": ("LoraLoader", "lora_name"),
}
UNKNOWN_FAMILY = (
    "the name says no family a server runs here (FLUX.1 dev or schnell, SD3, SD3.5 "
    "large or medium); only a full checkpoint in models/checkpoints runs without"
)
FLOW_REMOTE_SAMPLERS = tuple(n for n in REMOTE_SAMPLERS if n in FLOW_SAMPLERS)


@dataclass(frozen=True)
class ServerCatalog:
    """File names per kind (`checkpoints`, `diffusion_models`, `text_encoders`, `vae`,
    `loras`)."""

    files: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def read(cls, connection: Connection) -> ServerCatalog:
        files = {}
        for kind, (node, name) in LOADERS.items():
            info = connection.get_json(f"/object_info/{node}")
            files[kind] = _choices(info.get(node), name)
        return cls(files)

    def models(self) -> list[ModelInfo]:
        """Checkpoints, and diffusion models with the parts found for them; one that lacks
        a part (or whose family its name does not say) is listed with the reason."""
        infos = [_checkpoint_info(name) for name in self.files.get("checkpoints", ())]
        for name in self.files.get("diffusion_models", ()):
            source = self._diffusion_model(name)
            if isinstance(source, DiffusionModel):
                infos.append(_diffusion_model_info(source))
            else:
                infos.append(_model(name, "diffusion model", source))
        return infos

    def runnable(self) -> set[str]:
        return {info.id for info in self.models() if info.usable}

    def source(self, model: str) -> ModelSource:
        """What a workflow loads for `model` on this server: a checkpoint's name, or the
        diffusion model with its parts here. Raises `KeyError` if it cannot run here."""
        if model in self.files.get("checkpoints", ()):
            return Checkpoint.named(model)
        if model in self.files.get("diffusion_models", ()):
            source = self._diffusion_model(model)
            if isinstance(source, DiffusionModel):
                return source
        raise KeyError(model)

    def _diffusion_model(self, name: str) -> DiffusionModel | str:
        family = family_of(name)
        if family is None:
            return UNKNOWN_FAMILY
        return with_parts(
            name, family, self.files.get("text_encoders", ()), self.files.get("vae", ())
        )


def _choices(node: Any, name: str) -> tuple[str, ...]:
    """A loader's file list: its required input `name`; empty when the node is absent."""
    try:
        spec = node["input"]["required"][name]
    except (KeyError, TypeError):
        return ()
    return tuple(c for c in choices(*input_spec(spec)) if isinstance(c, str))


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


def _checkpoint_info(name: str) -> ModelInfo:
    """A checkpoint: a UNet family's (what it is, the server finds out), or FLUX.1's or
    SD3's when its name says so."""
    family = family_of(name)
    if family is None:
        return _model(name, "checkpoint")
    return _family_model(name, family, "checkpoint")


def _diffusion_model_info(model: DiffusionModel) -> ModelInfo:
    family = model.family
    components = tuple(("text_encoder", name) for name in model.encoders)
    notes = ()
    optional = family.optional_encoder
    if optional is not None and len(model.encoders) == len(family.encoders):
        notes = (f"runs without {optional.label} (no {optional.pattern} on the server)",)
    return dataclasses.replace(
        _family_model(model.unet, family, "diffusion model"),
        components=(*components, ("vae", model.vae)),
        notes=notes,
    )


def _family_model(name: str, family: RemoteFamily, kind: str) -> ModelInfo:
    return ModelInfo(
        id=name,
        name=Path(name).stem,
        family=family.family,
        format=Path(name).suffix.lstrip(".") or "file",
        path=Path(name),
        native_size=family.native_size,
        samplers=FLOW_REMOTE_SAMPLERS,
        family_label=f"{family.label} (ComfyUI {kind})",
        uses_negative_prompt=family.uses_negative_prompt,
        uses_guidance=family.uses_guidance,
        uses_true_cfg=family.embedded_guidance,
        recommended_guidance=family.default_guidance if family.uses_guidance else None,
        size_multiple=family.size_multiple,
        default_steps=family.default_steps,
        variant=family.variant,
    )
