"""Saving finished images: a PNG with metadata per image, then a history entry for each."""

from __future__ import annotations

import re
import threading
from datetime import datetime
from pathlib import Path

from PIL import Image

from studio.core.history import HistoryEntry, HistoryStore
from studio.core.metadata import save_png
from studio.core.results import GenerationResult

# `<date>-<time>-<counter>-<seed>.png`: sorting by name sorts by time, and the counter, which
# only grows within a folder, keeps names unique (and ordered) within one second.
_NAME = re.compile(r"^\d{8}-\d{6}-(\d{5,})-")
_STAMP = "%Y%m%d-%H%M%S"

# Picking a counter and writing the file must not interleave between two threads saving at once.
_save_lock = threading.Lock()


def save_result(
    result: GenerationResult, outputs_dir: Path, history: HistoryStore
) -> list[HistoryEntry]:
    """Write each image of `result` to `outputs_dir` and record it in `history`.

    When this returns, every image is on disk and in the database, so the caller may report the
    job done; the entries (one per image, in the result's order) hold the paths written.
    Raises ValueError when the result's images and seeds do not pair up.
    """
    if len(result.images) != len(result.seeds):
        raise ValueError(f"result has {len(result.images)} images but {len(result.seeds)} seeds")
    outputs_dir = Path(outputs_dir)
    outputs_dir.mkdir(parents=True, exist_ok=True)
    entries: list[HistoryEntry] = []
    with _save_lock:
        counter = next_counter(outputs_dir)
        stamp = datetime.now().strftime(_STAMP)
        for index, (image, seed) in enumerate(zip(result.images, result.seeds, strict=True)):
            path = outputs_dir / f"{stamp}-{counter:05d}-{seed}.png"
            while path.exists():  # another program wrote into the folder meanwhile
                counter += 1
                path = outputs_dir / f"{stamp}-{counter:05d}-{seed}.png"
            counter += 1
            entries.append(_save_one(result, index, image, seed, path, history))
    return entries


def save_result_as(
    result: GenerationResult, path: Path, history: HistoryStore
) -> list[HistoryEntry]:
    """Like `save_result`, at a path the user chose; a batch gets `-1`, `-2`, ... suffixes."""
    path = Path(path)
    if len(result.images) == 1:
        targets = [path]
    else:
        targets = [
            path.with_name(f"{path.stem}-{n}{path.suffix}")
            for n in range(1, len(result.images) + 1)
        ]
    return [
        _save_one(result, index, image, seed, target, history)
        for index, (image, seed, target) in enumerate(
            zip(result.images, result.seeds, targets, strict=True)
        )
    ]


def _save_one(
    result: GenerationResult,
    index: int,
    image: Image.Image,
    seed: int,
    path: Path,
    history: HistoryStore,
) -> HistoryEntry:
    model_name = result.model_name or result.request.model
    save_png(
        image,
        path,
        result.request,
        seed,
        model_name,
        result.model_hash or None,
        lora_hashes=result.lora_hashes,
        extra_text=result.png_text[index] if index < len(result.png_text) else None,
    )
    # The duration is the whole generation's: a batch's images share one run.
    return history.add(path, result.request, seed, model_name, result.duration)


def next_counter(outputs_dir: Path) -> int:
    """One more than the highest counter among the folder's image names (1 when none)."""
    highest = 0
    try:
        names = [entry.name for entry in Path(outputs_dir).iterdir()]
    except FileNotFoundError:
        return 1
    for name in names:
        match = _NAME.match(name)
        if match:
            highest = max(highest, int(match[1]))
    return highest + 1
