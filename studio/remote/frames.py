"""ComfyUI's binary websocket frames: previews, legacy (type 1) or with metadata (type 4)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

PREVIEW_IMAGE = 1
PREVIEW_IMAGE_WITH_METADATA = 4


@dataclass(frozen=True)
class PreviewFrame:
    """An encoded preview image (JPEG or PNG); `prompt_id` only with type 4."""

    image: bytes
    prompt_id: str | None = None


def parse_frame(frame: bytes) -> PreviewFrame | None:
    """The preview in a binary frame; None for frames that hold none (text, unknown types)."""
    if len(frame) < 8:
        return None
    event, word = struct.unpack(">II", frame[:8])
    if event == PREVIEW_IMAGE:
        return PreviewFrame(frame[8:])
    if event == PREVIEW_IMAGE_WITH_METADATA:
        end = 8 + word
        try:
            metadata = json.loads(frame[8:end].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        prompt_id = metadata.get("prompt_id") if isinstance(metadata, dict) else None
        return PreviewFrame(frame[end:], prompt_id)
    return None
