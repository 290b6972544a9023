"""Edited copies of the committed sample photos that the tests search for."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

#: Sample photos whose 50 % corner crop is neither the nearest pHash nor shares enough
#: words with its source among the samples (measured: a collection without the learned
#: layer misses all three).
CROPPED = ("ColorfulCups.jpg", "Kite.jpg", "Path.jpg")


def corner_crop(path: Path) -> bytes:
    """The top-left quarter of the photo, scaled back to its size, as JPEG bytes."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    buf = io.BytesIO()
    im.crop((0, 0, w // 2, h // 2)).resize((w, h)).save(buf, "JPEG", quality=90)
    return buf.getvalue()
