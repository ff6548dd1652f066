"""A record of every image the studio saved, in SQLite, newest first.

The generation worker adds entries while the UI thread reads them, so every call opens its own
short-lived connection (sqlite3 connections must not be shared between threads), the database
runs in WAL mode (readers never wait for the writer), and writes from this process take a lock
so they queue here instead of failing with "database is locked".
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.request import GenerationRequest

SCHEMA_VERSION = 1
_BUSY_TIMEOUT_S = 30.0

# One list of statements per schema version; entry i moves a database from version i to i + 1.
# Statements run one by one inside a transaction (executescript would commit on its own).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids of deleted entries are never reused
            path TEXT NOT NULL,
            created_at REAL NOT NULL,              -- seconds since the epoch, UTC
            model TEXT NOT NULL,
            duration REAL NOT NULL,                -- seconds the whole generation took
            seed INTEGER NOT NULL,
            width INTEGER,
            height INTEGER,
            prompt TEXT NOT NULL,
            request TEXT NOT NULL                  -- GenerationRequest.to_dict() as JSON
        )
        """,
    ),
)

_COLUMNS = "id, path, created_at, model, duration, seed, width, height, prompt, request"


@dataclass(frozen=True)
class HistoryEntry:
    """One saved image. `request` holds the image's own seed; it never holds images."""

    id: int
    path: Path
    created_at: datetime
    model: str
    duration: float
    seed: int
    width: int | None
    height: int | None
    prompt: str
    request: GenerationRequest


class HistoryStore:
    """The history database at `db_path`, created (with its folder) on first use."""

    def __init__(self, db_path: Path) -> None:
        self._db_path = Path(db_path)
        self._write_lock = threading.Lock()
        self._ready = False

    @property
    def db_path(self) -> Path:
        return self._db_path

    def add(
        self, path: Path, request: GenerationRequest, seed: int, model: str, duration: float
    ) -> HistoryEntry:
        """Record an image saved at `path`, made from `request` with `seed`."""
        data = dataclasses.replace(request, seed=seed).to_dict()
        created = time.time()
        # Absolute, so the entry still finds its file whatever the working folder is later.
        stored_path = Path(os.path.abspath(path))
        row = (
            str(stored_path),
            created,
            model,
            float(duration),
            seed,
            request.width,
            request.height,
            request.prompt,
            json.dumps(data, ensure_ascii=False),
        )
        with self._connect(write=True) as conn:
            cursor = conn.execute(
                "INSERT INTO entries (path, created_at, model, duration, seed, width, height,"
                " prompt, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            entry_id = cursor.lastrowid
        assert entry_id is not None
        return _entry((entry_id, *row))

    def entries(self, limit: int | None = None, offset: int = 0) -> list[HistoryEntry]:
        """Entries newest first (the order they were added, not file times), paged."""
        if (limit is not None and limit < 0) or offset < 0:
            raise ValueError(f"limit and offset must not be negative, got {limit}, {offset}")
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM entries ORDER BY id DESC LIMIT ? OFFSET ?",
                (-1 if limit is None else limit, offset),
            ).fetchall()
        return [_entry(row) for row in rows]

    def get(self, entry_id: int) -> HistoryEntry | None:
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE id = ?", (entry_id,)
            ).fetchone()
        return None if row is None else _entry(row)

    def delete(self, entry_id: int, delete_file: bool = False) -> bool:
        """Forget an entry, and with `delete_file` remove its image too; False if none had that id.

        The file goes first: if it cannot be removed the entry stays, so nothing is orphaned.
        """
        with self._connect(write=True) as conn:
            row = conn.execute("SELECT path FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if row is None:
                return False
            if delete_file:
                path = Path(row[0])
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    raise StudioError(f"cannot delete {path.name}: {exc.strerror}") from exc
            conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        return True

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A fresh connection in a transaction: committed on success, rolled back on error."""
        self._ensure_schema()
        lock = self._write_lock if write else nullcontext()
        with lock:
            conn = self._open()
            try:
                with conn:
                    yield conn
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            finally:
                conn.close()

    def _open(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(self._db_path, timeout=_BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _ensure_schema(self) -> None:
        with self._write_lock:
            if self._ready:
                return
            self._db_path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._open()
            conn.isolation_level = None  # we issue BEGIN/COMMIT ourselves
            try:
                _migrate(conn)
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            finally:
                conn.close()
            self._ready = True

    def _error(self, exc: sqlite3.Error) -> StudioError:
        return StudioError(f"history database {self._db_path.name} cannot be used: {exc}")


def _migrate(conn: sqlite3.Connection) -> None:
    # WAL is a property of the file, kept once set; it cannot change inside a transaction.
    conn.execute("PRAGMA journal_mode=WAL")
    # IMMEDIATE takes the write lock now, so a second process opening a fresh database waits
    # here instead of creating the same tables at the same time.
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StudioError(
                f"history database is from a newer Snail Studio (schema {version}, "
                f"this version reads {SCHEMA_VERSION})"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[target - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _entry(row: tuple) -> HistoryEntry:
    entry_id, path, created, model, duration, seed, width, height, prompt, request = row
    return HistoryEntry(
        id=entry_id,
        path=Path(path),
        created_at=datetime.fromtimestamp(created, tz=UTC),
        model=model,
        duration=duration,
        seed=seed,
        width=width,
        height=height,
        prompt=prompt,
        request=_request(request, prompt, seed, width, height, model),
    )


def _request(
    data: str, prompt: str, seed: int, width: int | None, height: int | None, model: str
) -> GenerationRequest:
    """The stored request; a damaged one is rebuilt from the columns rather than hiding the row."""
    try:
        return GenerationRequest.from_dict(json.loads(data))
    except (ValueError, TypeError, AttributeError):
        return GenerationRequest(prompt=prompt, seed=seed, width=width, height=height, model=model)
