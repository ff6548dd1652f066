"""ComfyUI's binary websocket frames: a preview image (type 1) after each sampler step."""

from __future__ import annotations

import struct

PREVIEW_IMAGE = 1


def parse_frame(frame: bytes) -> bytes | None:
    """The encoded preview (JPEG or PNG) in a binary frame; None for other frames (text)."""
    if len(frame) < 8 or struct.unpack(">I", frame[:4])[0] != PREVIEW_IMAGE:
        return None
    return frame[8:]
