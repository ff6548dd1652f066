"""Frames written as an animation: animated WebP or GIF (Pillow), and MP4 when PyAV is
installed (its wheels carry ffmpeg). Plain Python: the CLI checks a path before the slow
engine import, the window builds its file filter from `writable_suffixes`.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

from PIL import Image

from studio.core.errors import RequestError
from studio.core.padding import pad, work_size

FRAME_MS = 120  # an animation's time per frame
HOLD_FRAMES = 8  # WebP and GIF show the last frame this many frames long
IMAGE_SUFFIXES = (".webp", ".gif")
VIDEO_SUFFIX = ".mp4"
VIDEO_MISSING = "writing .mp4 needs PyAV, which is not installed: pip install av"


def video_available() -> bool:
    return importlib.util.find_spec("av") is not None


def writable_suffixes() -> tuple[str, ...]:
    return IMAGE_SUFFIXES + ((VIDEO_SUFFIX,) if video_available() else ())


def check_animation_path(path: Path, what: str = "an animation") -> None:
    """Refuse, in one line, a file this machine cannot write as an animation."""
    suffix = path.suffix.lower()
    if suffix == VIDEO_SUFFIX and not video_available():
        raise RequestError(VIDEO_MISSING)
    if suffix not in writable_suffixes():
        raise RequestError(f"{what} must end in {' or '.join(writable_suffixes())}: {path}")


def write_animation(frames: list[Image.Image], path: Path) -> Path:
    """One frame per image; WebP and GIF loop and hold the last frame longer."""
    check_animation_path(path)
    if not frames:
        raise ValueError("no frames to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == VIDEO_SUFFIX:
        return _write_video(frames, path)
    durations = [FRAME_MS] * (len(frames) - 1) + [FRAME_MS * HOLD_FRAMES]
    frames[0].save(
        path, save_all=True, append_images=frames[1:], duration=durations, loop=0, lossless=True
    )
    return path


def _write_video(frames: list[Image.Image], path: Path) -> Path:
    """H.264 in yuv420p (what every player reads) at one frame per FRAME_MS. yuv420p needs
    even sides: an odd side is padded by one row or column repeating the edge pixels."""
    import av

    even = work_size(frames[0].size, 2)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("h264", rate=Fraction(1000, FRAME_MS))
        stream.width, stream.height = even
        stream.pix_fmt = "yuv420p"
        for image in frames:
            frame = av.VideoFrame.from_image(pad(image.convert("RGB"), even))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
