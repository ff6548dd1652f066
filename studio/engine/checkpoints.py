"""What a checkpoint file holds, read from its header: tensor names, shapes and sizes.

No weights are loaded and no code runs: safetensors and GGUF files are read through their
headers; a `.ckpt`/`.pt` pickle is opened only with `torch.load(weights_only=True)` and
memory-mapped, so its tensors stay on disk. A truncated or random file becomes `ModelError`.
"""

from __future__ import annotations

import json
import struct
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from studio.core.errors import ModelError

SAFETENSORS_SUFFIXES = frozenset({".safetensors", ".sft"})
PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".bin"})
GGUF_SUFFIXES = frozenset({".gguf"})
CHECKPOINT_SUFFIXES = SAFETENSORS_SUFFIXES | PICKLE_SUFFIXES | GGUF_SUFFIXES

_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit
_DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2,
    "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}  # fmt: skip


@dataclass(frozen=True)
class TensorEntry:
    shape: tuple[int, ...]
    dtype: str
    nbytes: int


@dataclass(frozen=True)
class CheckpointHeader:
    """Tensor names with their shapes; `format` is safetensors, gguf or ckpt."""

    path: Path
    format: str
    tensors: Mapping[str, TensorEntry]
    metadata: Mapping[str, str]

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tensors.values())

    @property
    def parameters(self) -> int:
        return sum(numel(t.shape) for t in self.tensors.values())

    def shapes(self) -> ShapeView:
        """A mapping whose values have `.shape`: what diffusers' detection functions read."""
        return ShapeView(self.tensors)

    def has_prefix(self, prefix: str) -> bool:
        return any(name.startswith(prefix) for name in self.tensors)

    def count(self, prefix: str, suffix: str) -> int:
        """How many distinct blocks `prefix<N>...suffix` there are (layers of a stack)."""
        found = set()
        for name in self.tensors:
            if name.startswith(prefix) and name.endswith(suffix):
                found.add(name[len(prefix) :].split(".", 1)[0])
        return len(found)


class ShapeView(Mapping[str, torch.Tensor]):
    """Tensors on the meta device, shaped as in the file: costs nothing, reads no data."""

    def __init__(self, tensors: Mapping[str, TensorEntry]) -> None:
        self._tensors = tensors

    def __getitem__(self, name: str) -> torch.Tensor:
        return torch.empty(self._tensors[name].shape, device="meta")

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def __contains__(self, name: object) -> bool:
        return name in self._tensors


def read_header(path: Path) -> CheckpointHeader:
    """The header of a checkpoint file; `ModelError` saying what is wrong with a bad one."""
    suffix = path.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES:
        return _read_safetensors(path)
    if suffix in GGUF_SUFFIXES:
        return _read_gguf(path)
    if suffix in PICKLE_SUFFIXES:
        return _read_pickle(path)
    raise ModelError(f"{path.name}: not a checkpoint file (use .safetensors, .gguf or .ckpt)")


def _read_safetensors(path: Path) -> CheckpointHeader:
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise ModelError(f"{path.name}: empty or truncated file ({size} bytes)")
            (length,) = struct.unpack("<Q", prefix)
            if length > min(_MAX_HEADER, size - 8):
                raise ModelError(f"{path.name}: not a safetensors file (no valid header)")
            raw = handle.read(length)
    except OSError as exc:
        raise ModelError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ModelError(f"{path.name}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise ModelError(f"{path.name}: not a safetensors file (header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    tensors: dict[str, TensorEntry] = {}
    end = 0
    try:
        for name, entry in header.items():
            start, stop = entry["data_offsets"]
            shape = tuple(int(d) for d in entry["shape"])
            tensors[name] = TensorEntry(shape, str(entry["dtype"]), int(stop) - int(start))
            end = max(end, int(stop))
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{path.name}: damaged safetensors header") from None
    if 8 + length + end > size:
        have, need = _gb(size), _gb(8 + length + end)
        raise ModelError(f"{path.name}: truncated file ({have} of {need}); download it again")
    return CheckpointHeader(path, "safetensors", tensors, metadata)


def _read_gguf(path: Path) -> CheckpointHeader:
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
    except OSError as exc:
        raise ModelError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    except Exception as exc:  # gguf raises ValueError, struct errors, IndexError...
        raise ModelError(f"{path.name}: not a valid GGUF file ({type(exc).__name__})") from None
    tensors = {
        t.name: TensorEntry(
            tuple(int(d) for d in reversed(t.shape.tolist())), t.tensor_type.name, int(t.n_bytes)
        )
        for t in reader.tensors
    }
    return CheckpointHeader(path, "gguf", tensors, {})


def _read_pickle(path: Path) -> CheckpointHeader:
    """Only `weights_only` loading: a pickle that wants to run code is refused, not run.
    A zip checkpoint (torch.save since 1.6) is memory-mapped: its tensors stay on disk."""
    try:
        data = torch.load(
            path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path)
        )
    except OSError as exc:
        raise ModelError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    except Exception as exc:
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise ModelError(
                f"{path.name}: this pickle holds code, which the studio never runs; "
                "use a .safetensors version of the model"
            ) from None
        raise ModelError(f"{path.name}: not a readable checkpoint ({type(exc).__name__})") from None
    state = data.get("state_dict", data) if isinstance(data, dict) else None
    if not isinstance(state, dict):
        raise ModelError(f"{path.name}: not a checkpoint (no tensors in it)")
    tensors = {
        str(name): TensorEntry(
            tuple(t.shape), str(t.dtype).removeprefix("torch."), t.numel() * t.element_size()
        )
        for name, t in state.items()
        if isinstance(t, torch.Tensor)
    }
    return CheckpointHeader(path, "ckpt", tensors, {})


def bytes_per_element(dtype: str) -> int:
    return _DTYPE_BYTES.get(dtype.upper(), 2)


def numel(shape: tuple[int, ...]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def _gb(size: int) -> str:
    return f"{size / 1e9:.2f} GB" if size >= 1e8 else f"{size / 1e6:.1f} MB"
