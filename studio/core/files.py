"""Atomic file writes: a temp file in the same folder, then a rename.

A crash or a reader polling the folder never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import (setting it back and forth later would race other threads' writes).
_FILE_MODE = 0o666 & ~_process_umask()


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = False) -> Path:
    """Write `data` to `path` atomically; `durable` also fsyncs before the rename, for files
    the caller reports as saved once this returns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        # mkstemp makes the file private (0600): give it the mode any new file would get.
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))
