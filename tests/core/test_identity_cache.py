"""The identification cache: entries hold while files are unchanged, and survive a restart."""

from __future__ import annotations

import os

from studio.core.identity_cache import IdentityCache, Stamp


def test_an_entry_comes_back_while_the_file_and_its_folders_are_unchanged(tmp_path):
    model, parts = tmp_path / "m.safetensors", tmp_path / "text_encoders"
    model.write_bytes(b"x" * 10)
    parts.mkdir()
    cache = IdentityCache(tmp_path / "db.sqlite")
    stamp = Stamp.of(model, [parts])
    cache.store(model, stamp, {"id": "m"})
    again = IdentityCache(tmp_path / "db.sqlite").snapshot()  # a new start
    assert again == {str(model): (stamp, {"id": "m"}, None)}
    (parts / "t5xxl.safetensors").write_bytes(b"")  # the folder changes: so does the stamp
    os.utime(parts, ns=(1, 1))
    assert Stamp.of(model, [parts]) != stamp


def test_the_hash_is_kept_until_the_file_changes(tmp_path):
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"x" * 10)
    cache = IdentityCache(tmp_path / "db.sqlite")
    stamp = Stamp.of(model)
    cache.store(model, stamp, None)
    cache.store_sha256(model, stamp, "ab" * 32)
    cache.store(model, stamp, {"id": "m"})  # re-identified, same file: the hash stays
    assert cache.snapshot()[str(model)][2] == "ab" * 32
    model.write_bytes(b"y" * 11)
    changed = Stamp.of(model)
    cache.store(model, changed, {"id": "m"})  # a changed file is read again: its hash is not kept
    assert cache.snapshot()[str(model)][2] is None
