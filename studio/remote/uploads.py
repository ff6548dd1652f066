"""Input images and masks sent to each server once, under names made from their content."""

from __future__ import annotations

import hashlib
import io
import threading

from PIL import Image

from studio.core.padding import pad
from studio.remote.connection import Connection

Size = tuple[int, int]


class Uploads:
    """Remembers what each server already holds, so a batch or a retry uploads nothing twice."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def image(
        self,
        connection: Connection,
        image: Image.Image,
        size: tuple[int, int],
        work: tuple[int, int],
    ) -> str:
        """The input image, RGB at the job's size, padded out to the size the model works on
        (its edge pixels repeated; the result is cropped back)."""
        rgb = image.convert("RGB")
        if rgb.size != size:
            rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        return self._upload(connection, pad(rgb, work))

    def mask(
        self,
        connection: Connection,
        mask: Image.Image,
        size: tuple[int, int],
        work: tuple[int, int],
    ) -> str:
        """The mask as black and white (white = repaint) at the job's size, padded with black
        (kept) out to the size the model works on."""
        grey = mask.convert("L")
        if grey.size != size:
            grey = grey.resize(size, Image.Resampling.NEAREST)
        return self._upload(connection, pad(grey.point(lambda v: 255 if v >= 128 else 0), work, 0))

    def _upload(self, connection: Connection, image: Image.Image) -> str:
        encoded = io.BytesIO()
        image.save(encoded, format="PNG")
        png = encoded.getvalue()
        digest = hashlib.sha256(png).hexdigest()[:24]
        key = (connection.name, digest)
        with self._lock:
            if key in self._names:
                return self._names[key]
        name = connection.upload_image(f"snail-{digest}.png", png)
        with self._lock:
            self._names[key] = name
        return name
