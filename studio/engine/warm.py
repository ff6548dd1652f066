"""Reading a model's files ahead of loading them, with progress, hashing on the way.

Loading a model of several GB is mostly reading it from disk, and diffusers reports nothing
while it does. Reading the files once through the OS page cache first (in large chunks, into
one reused buffer) makes that wait visible, byte by byte, and costs no extra reading: the load
that follows finds the data in the cache. A single file's SHA-256 (AUTOMATIC1111's "Model
hash" is its first 10 hex digits) is computed on the same pass, once; the library keeps it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from studio.core.models import ModelInfo
from studio.core.results import LoadProgress

CHUNK = 64 * 1024 * 1024


def weight_files(info: ModelInfo) -> list[Path]:
    """The files a load reads: the model's file or its folder's weights, and its parts."""
    files = [info.path] if info.path.is_file() else sorted(info.path.glob("*/*.safetensors"))
    return files + [Path(path) for _, path in info.components]


def read_through(
    info: ModelInfo, on_progress: Callable[[LoadProgress], None] | None, digest: bool
) -> str | None:
    """Read the model's files, reporting progress; with `digest`, return the SHA-256 of its
    single file. Nothing is read when neither is wanted."""
    if on_progress is None and not digest:
        return None
    files = weight_files(info)
    total = sum(_size(path) for path in files)
    done = 0
    report = on_progress or (lambda progress: None)
    report(LoadProgress(info.name, done, total))
    buffer = bytearray(CHUNK)
    sha = hashlib.sha256() if digest else None
    for path in files:
        hashing = sha is not None and path == info.path
        for count in _chunks(path, buffer):
            if hashing:
                sha.update(memoryview(buffer)[:count])
            done += count
            report(LoadProgress(info.name, done, total))
    return sha.hexdigest() if sha is not None else None


def _chunks(path: Path, buffer: bytearray) -> Iterable[int]:
    try:
        with path.open("rb", buffering=0) as handle:
            while count := handle.readinto(buffer):
                yield count
    except OSError:
        return  # the load itself will say what is wrong with the file


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
