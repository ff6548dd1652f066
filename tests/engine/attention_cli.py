"""`generate --attention DIR` run in-process, and what it must have written, for any model."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from studio.cli import main


def check_attention_cli(model_args: list[str], tmp_path: Path, capsys) -> None:
    """Two steps of "a red circle" with `model_args` (--model-dir, --model, ...) write one
    256 px overlay per word and an index naming each word's hottest point."""
    folder = tmp_path / "maps"
    out = tmp_path / "a.png"
    args = ["generate", *model_args, "--steps", "2", "--prompt", "a red circle"]
    status = main([*args, "--out", str(out), "--attention", str(folder)])
    stdout = capsys.readouterr().out
    assert status == 0
    assert stdout.split()[-1] == str(folder / "index.json")
    index = json.loads((folder / "index.json").read_text())
    assert [w["word"] for w in index["words"]] == ["a", "red", "circle"]
    assert index["steps"] == 2
    for word in index["words"]:
        with Image.open(folder / word["file"]) as image:
            assert image.size == (256, 256)
        assert all(0 < v < 1 for v in word["hottest"])
