"""Atomic file writes: a temp file in the same folder, then a rename.

A crash or a reader polling the folder never sees half a file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# Created like any new file (0666 less the umask), not private as mkstemp's 0600 would be.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def write_bytes_atomic(
    path: Path, data: bytes, *, durable: bool = False, private: bool = False
) -> Path:
    """Write `data` to `path` atomically; `durable` also fsyncs before the rename, for files
    the caller reports as saved once this returns; `private` files (secrets) are readable by
    their owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, _CREATE, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str, *, private: bool = False) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"), private=private)
