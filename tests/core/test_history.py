"""The history store: persistence, order, deletion, schema, threads."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from studio.core.errors import StudioError
from studio.core.history import SCHEMA_VERSION, HistoryEntry, HistoryStore
from studio.core.request import GenerationRequest, Mode

REQUEST = GenerationRequest(
    prompt="a snail, at dusk",
    negative_prompt="blurry",
    mode=Mode.IMG2IMG,
    scheduler="Euler a",
    steps=12,
    seed=None,
    width=512,
    height=384,
    strength=0.6,
)


@pytest.fixture
def store(tmp_path):
    return HistoryStore(tmp_path / "data" / "history.sqlite")


def test_created_on_first_use_not_before(tmp_path):
    path = tmp_path / "deep" / "folder" / "history.sqlite"
    store = HistoryStore(path)
    assert not path.exists()
    assert store.count() == 0
    assert path.exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_add_returns_the_entry_as_stored(store, tmp_path):
    before = datetime.now(UTC)
    entry = store.add(tmp_path / "a.png", REQUEST, seed=77, model="Snail Mini", duration=1.5)
    assert isinstance(entry, HistoryEntry)
    assert entry.path == tmp_path / "a.png"
    assert entry.path.is_absolute()
    assert before <= entry.created_at <= datetime.now(UTC)
    assert (entry.model, entry.duration, entry.seed) == ("Snail Mini", 1.5, 77)
    assert (entry.width, entry.height, entry.prompt) == (512, 384, "a snail, at dusk")
    assert entry.request == replace(REQUEST, seed=77)  # the image's own seed
    assert entry.request.mode is Mode.IMG2IMG
    assert store.get(entry.id) == entry


def test_relative_paths_are_stored_absolute(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entry = store.add("out/b.png", REQUEST, 1, "m", 0.0)
    assert entry.path == tmp_path / "out" / "b.png"


def test_persists_across_reopen(tmp_path):
    path = tmp_path / "history.sqlite"
    first = HistoryStore(path).add(tmp_path / "a.png", REQUEST, 5, "m", 2.0)
    reopened = HistoryStore(path)
    assert reopened.count() == 1
    assert reopened.get(first.id) == first
    assert reopened.entries() == [first]


def test_entries_are_newest_first_and_paged(store, tmp_path):
    added = [store.add(tmp_path / f"{i}.png", REQUEST, i, "m", 0.1) for i in range(5)]
    newest_first = list(reversed(added))
    assert store.entries() == newest_first
    assert [e.seed for e in store.entries(limit=2)] == [4, 3]
    assert [e.seed for e in store.entries(limit=2, offset=2)] == [2, 1]
    assert [e.seed for e in store.entries(offset=4)] == [0]
    assert store.entries(limit=0) == []
    assert store.count() == 5


def test_negative_paging_is_refused(store):
    with pytest.raises(ValueError, match="must not be negative"):
        store.entries(limit=-1)
    with pytest.raises(ValueError, match="must not be negative"):
        store.entries(offset=-3)


def test_get_unknown_id(store):
    assert store.get(12345) is None


def test_delete_keeps_the_file_by_default(store, tmp_path):
    image = tmp_path / "keep.png"
    image.write_bytes(b"png")
    entry = store.add(image, REQUEST, 1, "m", 0.0)
    assert store.delete(entry.id) is True
    assert store.get(entry.id) is None
    assert store.count() == 0
    assert image.exists()


def test_delete_with_file(store, tmp_path):
    image = tmp_path / "gone.png"
    image.write_bytes(b"png")
    other = store.add(tmp_path / "other.png", REQUEST, 2, "m", 0.0)
    entry = store.add(image, REQUEST, 1, "m", 0.0)
    assert store.delete(entry.id, delete_file=True) is True
    assert not image.exists()
    assert store.entries() == [other]


def test_delete_with_file_already_gone(store, tmp_path):
    entry = store.add(tmp_path / "never-written.png", REQUEST, 1, "m", 0.0)
    assert store.delete(entry.id, delete_file=True) is True
    assert store.count() == 0


def test_delete_unknown_id(store):
    assert store.delete(999) is False


def test_file_that_cannot_be_deleted_keeps_its_entry(store, tmp_path):
    folder = tmp_path / "a-folder.png"  # unlink() fails on a directory
    folder.mkdir()
    entry = store.add(folder, REQUEST, 1, "m", 0.0)
    with pytest.raises(StudioError, match=r"^cannot delete a-folder\.png"):
        store.delete(entry.id, delete_file=True)
    assert store.get(entry.id) == entry


def test_ids_are_not_reused_after_delete(store, tmp_path):
    first = store.add(tmp_path / "1.png", REQUEST, 1, "m", 0.0)
    store.delete(first.id)
    second = store.add(tmp_path / "2.png", REQUEST, 2, "m", 0.0)
    assert second.id > first.id


def test_concurrent_adds_and_reads_from_threads(store, tmp_path):
    threads, per_thread = 6, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                store.add(tmp_path / f"{n}-{i}.png", REQUEST, n * 1000 + i, "m", 0.0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                store.entries(limit=5)
                store.count()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    workers.append(threading.Thread(target=reader))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    entries = store.entries()
    assert len(entries) == store.count() == threads * per_thread
    assert len({e.id for e in entries}) == threads * per_thread
    assert {e.seed for e in entries} == {
        n * 1000 + i for n in range(threads) for i in range(per_thread)
    }


def test_newer_schema_is_refused_with_one_line(tmp_path):
    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StudioError, match="newer Snail Studio") as caught:
        HistoryStore(path).count()
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StudioError, match=r"^history database history\.sqlite cannot be used"):
        HistoryStore(path).count()


def test_a_damaged_request_row_still_lists(store, tmp_path):
    entry = store.add(tmp_path / "a.png", REQUEST, 9, "Snail Mini", 0.0)
    with sqlite3.connect(store.db_path) as conn:
        conn.execute("UPDATE entries SET request = 'not json' WHERE id = ?", (entry.id,))
    (listed,) = store.entries()
    assert listed.request.prompt == REQUEST.prompt
    assert listed.request.seed == 9
    assert listed.request.size == (512, 384)
