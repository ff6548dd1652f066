"""Animations: WebP and GIF always, MP4 through PyAV, and a one-line refusal without it."""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from studio.core.animations import (
    check_animation_path,
    video_available,
    writable_suffixes,
    write_animation,
)
from studio.core.errors import RequestError


def frames(size: tuple[int, int], count: int = 4) -> list[Image.Image]:
    """Frames growing brighter, with a green right column and a blue bottom row."""
    images = []
    for number in range(count):
        pixels = np.full((size[1], size[0], 3), 40 * number, np.uint8)
        pixels[:, -1] = (0, 200, 0)
        pixels[-1, :] = (0, 0, 200)
        images.append(Image.fromarray(pixels, "RGB"))
    return images


def read_video(path: Path) -> list[Image.Image]:
    with av.open(str(path)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def test_mp4_has_one_frame_per_image_in_order(tmp_path):
    written = read_video(write_animation(frames((64, 48)), tmp_path / "run.mp4"))
    assert [f.size for f in written] == [(64, 48)] * 4
    brightness = [np.asarray(f)[10:30, 10:30].mean() for f in written]
    assert brightness == sorted(brightness)
    assert abs(brightness[-1] - 120) < 4


def test_odd_sizes_are_padded_to_even_sides_repeating_the_edge(tmp_path):
    written = read_video(write_animation(frames((63, 45), count=2), tmp_path / "odd.mp4"))
    assert [f.size for f in written] == [(64, 46)] * 2
    pixels = np.asarray(written[1], dtype=float)
    # The added column repeats the green edge, the added row the blue one.
    assert np.abs(pixels[5:35, 63] - (0, 200, 0)).max() < 30
    assert np.abs(pixels[45, 5:55] - (0, 0, 200)).max() < 30


@pytest.mark.parametrize("suffix", [".webp", ".gif"])
def test_images_loop_and_hold_the_last_frame(tmp_path, suffix):
    path = write_animation(frames((63, 45)), tmp_path / f"run{suffix}")
    with Image.open(path) as animation:
        assert animation.n_frames == 4 and animation.size == (63, 45)
        animation.seek(3)
        animation.load()  # WebP reads a frame's duration with its pixels
        assert animation.info["duration"] == 8 * 120


def test_without_pyav_mp4_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # as if not installed: import av fails
    assert not video_available()
    assert writable_suffixes() == (".webp", ".gif")
    with pytest.raises(RequestError) as refused:
        write_animation(frames((64, 48)), tmp_path / "run.mp4")
    assert str(refused.value) == "writing .mp4 needs PyAV, which is not installed: pip install av"
    assert not (tmp_path / "run.mp4").exists()


def test_other_suffixes_are_refused_naming_what_works(tmp_path):
    assert video_available()
    with pytest.raises(RequestError, match=r"^--timeline must end in .webp or .gif or .mp4: "):
        check_animation_path(tmp_path / "run.avi", "--timeline")
