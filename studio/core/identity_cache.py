"""What each model file is, remembered across starts: SQLite, keyed by path, size and time.

Identifying a file means reading its header (and, for a transformer-only file, the headers of
the text encoders and VAE beside it); a listing of hundreds of files would redo that at every
start. An entry is used only while the file's size and modification time, and the modification
times of the folders its parts came from, are what they were when it was written. The model
hash (a SHA-256 of the whole file, slow) is kept with it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_VERSION = "1"  # bump when identification changes what it finds

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """
    CREATE TABLE IF NOT EXISTS files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        depends TEXT NOT NULL,      -- JSON [[folder, mtime_ns], ...]: where its parts were sought
        info TEXT,                  -- JSON of what identification found; NULL: not a model
        sha256 TEXT                 -- of the whole file, once computed
    )
    """,
)


@dataclass(frozen=True)
class Stamp:
    """A file's size and modification time, and those of the folders its identity depends on."""

    size: int
    mtime_ns: int
    depends: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, path: Path, depends: Sequence[Path] = ()) -> Stamp:
        stat = path.stat()
        folders = tuple((str(d), d.stat().st_mtime_ns) for d in depends if d.exists())
        return cls(stat.st_size, stat.st_mtime_ns, folders)


class IdentityCache:
    """One short-lived connection per call (threads), WAL mode, writes serialised by a lock."""

    def __init__(self, db: Path) -> None:
        self.db = Path(db)
        self._lock = threading.Lock()
        self._ready = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.db.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.db, timeout=30)
        try:
            if not self._ready:
                self._prepare(connection)
            with connection:
                yield connection
        finally:
            connection.close()

    def _prepare(self, connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        with connection:
            for statement in _SCHEMA:
                connection.execute(statement)
            row = connection.execute("SELECT value FROM meta WHERE key='version'").fetchone()
            if row is None or row[0] != CACHE_VERSION:
                connection.execute("DELETE FROM files")
                connection.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('version', ?)", (CACHE_VERSION,)
                )
        self._ready = True

    def snapshot(self) -> dict[str, tuple[Stamp, dict[str, Any] | None, str | None]]:
        """Every entry, by path: its stamp, what identification found (None: not a model) and
        its SHA-256 if known. One query: a listing of hundreds of files reads the database once."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT path, size, mtime_ns, depends, info, sha256 FROM files"
            ).fetchall()
        return {
            path: (
                Stamp(size, mtime_ns, tuple(tuple(pair) for pair in json.loads(depends))),
                json.loads(info) if info is not None else None,
                sha256,
            )
            for path, size, mtime_ns, depends, info, sha256 in rows
        }

    def store(self, path: Path, stamp: Stamp, info: dict[str, Any] | None) -> None:
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, depends, info, sha256) "
                "VALUES (?, ?, ?, ?, ?, (SELECT sha256 FROM files WHERE path = ? AND size = ? "
                "AND mtime_ns = ?))",
                (
                    str(path), stamp.size, stamp.mtime_ns, json.dumps(stamp.depends),
                    json.dumps(info) if info is not None else None,
                    str(path), stamp.size, stamp.mtime_ns,
                ),
            )  # fmt: skip

    def store_sha256(self, path: Path, stamp: Stamp, digest: str) -> None:
        with self._lock, self._connect() as db:
            db.execute(
                "UPDATE files SET sha256 = ? WHERE path = ? AND size = ? AND mtime_ns = ?",
                (digest, str(path), stamp.size, stamp.mtime_ns),
            )
