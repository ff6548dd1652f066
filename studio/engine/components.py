"""The separate parts a single-file model is completed with, found in the user's model tree.

FLUX.1 files from BFL hold the transformer only; ComfyUI keeps `clip_l.safetensors` and
`t5xxl_fp16.safetensors` in `models/text_encoders` (older: `models/clip`) and `ae.safetensors`
in `models/vae`; SD3.5 files need CLIP-L, CLIP-G and (optionally) T5-XXL the same way. Files
are recognised by their headers, not their names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.errors import ModelError
from studio.engine.checkpoints import CHECKPOINT_SUFFIXES, CheckpointHeader, numel, read_header
from studio.engine.file_kinds import classify

COMPONENT_FOLDERS = ("text_encoders", "clip", "vae", "VAE")
_SEARCH_UP = 3  # a model in models/unet/flux/x.safetensors still finds models/vae


@dataclass
class ModelTree:
    """The component files near a model: by kind (clip_l, clip_g, t5xxl, vae4, vae16),
    each with its path and size in parameters; read once per tree."""

    roots: tuple[Path, ...] = ()
    found: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)
    _scanned: bool = False

    @classmethod
    def around(cls, model: Path) -> ModelTree:
        """The tree a model file lives in: the nearest ancestors with component folders."""
        roots = []
        for parent in list(model.parents)[:_SEARCH_UP]:
            roots.extend(parent / name for name in COMPONENT_FOLDERS if (parent / name).is_dir())
        return cls(tuple(dict.fromkeys(roots)))

    def best(self, kind: str) -> tuple[Path, int] | None:
        """The component of this kind; the one with the most precise weights comes first
        (t5xxl_fp16 before t5xxl_fp8), then by name."""
        self._scan()
        candidates = self.found.get(kind, [])
        return candidates[0] if candidates else None

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        ranked: dict[str, list[tuple[int, str, Path, int]]] = {}
        for path in _files(self.roots):
            try:
                header = read_header(path)
            except ModelError:
                continue
            kind = classify(header)
            if kind.kind in ("vae", "text_encoder") and kind.detail:
                precision = header.nbytes / max(header.parameters, 1)
                ranked.setdefault(kind.detail, []).append(
                    (-precision, path.name, path, header.parameters)
                )
        for kind, entries in ranked.items():
            self.found[kind] = [(path, params) for _, _, path, params in sorted(entries)]


def header_parameters(header: CheckpointHeader, prefixes: Iterable[str]) -> int:
    """Parameters under any of `prefixes` (a component inside an all-in-one file)."""
    prefixes = tuple(prefixes)
    return sum(
        numel(entry.shape) for name, entry in header.tensors.items() if name.startswith(prefixes)
    )


def _files(roots: Iterable[Path]) -> list[Path]:
    files = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() in CHECKPOINT_SUFFIXES and path.is_file():
                files.append(path)
    return files
