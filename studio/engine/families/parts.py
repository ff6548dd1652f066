"""Loading the parts a single file lacks: text encoders and VAEs from their own files.

The bundled config folder says each part's class (`model_index.json`) and its config; the
weights come from the user's file, upcast or cast to the placement's dtype (fp8 and fp16
files compute in fp32 or bf16 on a CPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from accelerate import init_empty_weights
from diffusers import AutoencoderKL
from safetensors.torch import load_file

from studio.core.errors import ModelError
from studio.engine.families.base import read_config


@dataclass(frozen=True)
class Part:
    """A component a family needs: `name` in the pipeline, `kind` as the model tree calls
    it, the prefixes it has inside an all-in-one file, and whether the model runs without."""

    name: str
    kind: str
    label: str
    prefixes: tuple[str, ...]
    required: bool = True


def load_part(part: Part, path: Path, config_dir: Path, dtype: torch.dtype) -> Any:
    if part.kind.startswith("vae"):
        return AutoencoderKL.from_single_file(
            str(path), config=str(config_dir), subfolder="vae", local_files_only=True, dtype=dtype
        )
    return _load_text_encoder(part, path, config_dir, dtype)


def _load_text_encoder(part: Part, path: Path, config_dir: Path, dtype: torch.dtype) -> Any:
    _, class_name = read_config(config_dir / "model_index.json")[part.name]
    cls = getattr(transformers, class_name)
    config = cls.config_class.from_pretrained(config_dir / part.name)
    with init_empty_weights():
        model = cls(config)
    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise ModelError(f"{path.name}: cannot read the {part.label} file ({exc})") from None
    expected = model.state_dict().keys()
    state = {_match(name, expected): t.to(dtype) for name, t in tensors.items()}
    missing = [k for k in expected if k not in state and not _derived(k)]
    if missing:
        raise ModelError(
            f"{path.name}: not a {part.label} text encoder this model can use "
            f"({len(missing)} weights missing, e.g. {missing[0]})"
        )
    model.load_state_dict(
        {k: v for k, v in state.items() if k in expected}, strict=False, assign=True
    )
    model.tie_weights()
    return model.to(dtype).eval()


def _match(name: str, expected) -> str:
    """The model's name for a file's tensor: `text_model.` prefixes come and go between
    ComfyUI's files and transformers versions."""
    if name in expected:
        return name
    bare = name.removeprefix("text_model.")
    return bare if bare in expected else f"text_model.{name}"


def _derived(name: str) -> bool:
    """Weights the model makes itself: tied embeddings and position ids."""
    return name.endswith(("position_ids", "embed_tokens.weight"))
