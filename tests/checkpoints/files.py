"""Write state dicts as safetensors single files: real, header-only (sparse) or full-size random."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import torch
from safetensors.torch import save_file

StateDict = dict[str, torch.Tensor]

_DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float8_e4m3fn: "F8_E4M3",
    torch.float8_e5m2: "F8_E5M2",
    torch.int64: "I64",
    torch.int32: "I32",
}


def write_single_file(path: Path, state_dict: StateDict) -> None:
    """An ordinary safetensors file of `state_dict` (real tensors)."""
    save_file({key: tensor.contiguous() for key, tensor in state_dict.items()}, str(path))


def _header(layout: dict[str, tuple[torch.Size, torch.dtype]]) -> tuple[bytes, int]:
    """The safetensors header (length-prefixed, padded to 8 bytes) and the data size after it."""
    entries = {}
    offset = 0
    for key, (shape, dtype) in layout.items():
        size = shape.numel() * dtype.itemsize
        entries[key] = {
            "dtype": _DTYPES[dtype],
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    text = json.dumps(entries, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, offset


def read_header(path: Path) -> StateDict:
    """The tensors a safetensors file declares, as meta tensors: names, shapes, dtypes, no data."""
    names = {name: dtype for dtype, name in _DTYPES.items()}
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    header.pop("__metadata__", None)
    return {
        key: torch.empty(entry["shape"], dtype=names[entry["dtype"]], device="meta")
        for key, entry in header.items()
    }


def _layout(
    state_dict: StateDict, dtype: torch.dtype | None
) -> dict[str, tuple[torch.Size, torch.dtype]]:
    return {key: (tensor.shape, dtype or tensor.dtype) for key, tensor in state_dict.items()}


def write_header_only(path: Path, state_dict: StateDict, dtype: torch.dtype | None = None) -> int:
    """A file with the real header of `state_dict` (meta tensors are fine) and a hole for the data.

    The file has its full size (a 24 GB model reads as 24 GB) but takes no disk space; its
    tensors read as zeros. Returns the file size. `dtype` overrides every tensor's dtype.
    """
    header, data_size = _header(_layout(state_dict, dtype))
    with open(path, "wb") as handle:
        handle.write(header)
    os.truncate(path, len(header) + data_size)
    return len(header) + data_size


def write_random(path: Path, state_dict: StateDict, dtype: torch.dtype, seed: int = 0) -> int:
    """A full-size file whose tensors are seeded random values (std 0.02), written one at a time.

    `state_dict` gives only names and shapes (meta tensors): no more than one tensor is ever in
    memory. For benchmarks with real-size models. Returns the file size.
    """
    layout = _layout(state_dict, dtype)
    header, data_size = _header(layout)
    generator = torch.Generator().manual_seed(seed)
    with open(path, "wb") as handle:
        handle.write(header)
        for shape, tensor_dtype in layout.values():
            values = (torch.randn(shape, generator=generator) * 0.02).to(tensor_dtype)
            handle.write(values.reshape(-1).view(torch.uint8).numpy().tobytes())
    return len(header) + data_size
