from __future__ import annotations

import os
import stat

import pytest

from studio.core.files import write_text_atomic


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_an_atomic_write_gets_the_mode_of_any_new_file(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = write_text_atomic(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert list(tmp_path.glob(".*.tmp")) == []
