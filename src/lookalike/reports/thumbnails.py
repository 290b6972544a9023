"""Small JPEG thumbnails for the reports (HTML data URIs, images anchored in xlsx rows).

Thumbnails go through :func:`lookalike.decode.load`, so a report shows the same pixels the
methods saw (EXIF orientation applied, transparency on white), and JPEGs are decoded with
draft scaling: a thumbnail of a 24 MP photo costs a fraction of a full decode. A source
that cannot be decoded gives ``None``; a report shows a placeholder and goes on.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image

from lookalike.decode import SIZE_KEY, ImageSource, load

#: Default longest side of a thumbnail, in pixels.
MAX_SIDE = 160


@dataclass(frozen=True)
class Thumbnail:
    """JPEG bytes of a thumbnail, its size, and the source image's size (after orientation)."""

    data: bytes
    width: int
    height: int
    source_width: int
    source_height: int


def make_thumbnail(
    source: ImageSource | None, max_side: int = MAX_SIDE, *, quality: int = 82
) -> Thumbnail | None:
    """A JPEG thumbnail whose longest side is at most ``max_side``; ``None`` if undecodable."""
    if source is None or max_side < 1:
        return None
    try:
        # The draft keeps the short side >= max_side, so the long side is too.
        im = load(source, mode="RGB", min_size=max_side)
        source_size = im.info.get(SIZE_KEY, im.size)
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality, optimize=True)
    except Exception:  # any undecodable source (DecodeError, odd plugin crash): no thumbnail
        return None
    return Thumbnail(buf.getvalue(), im.width, im.height, *source_size)


def thumbnail_jpeg(source: ImageSource | None, max_side: int = MAX_SIDE) -> bytes | None:
    """JPEG bytes of a thumbnail of ``source`` (path or bytes), or ``None`` if undecodable."""
    thumb = make_thumbnail(source, max_side)
    return thumb.data if thumb else None


def make_thumbnails(
    sources: Sequence[ImageSource | None], max_side: int = MAX_SIDE, *, jobs: int = 0
) -> list[Thumbnail | None]:
    """Thumbnails of many sources, in order, decoded in threads (Pillow releases the GIL).

    ``jobs``: threads to use (0 = one per CPU, at most 8).
    """
    if jobs <= 0:
        jobs = min(8, os.cpu_count() or 1)
    if jobs == 1 or len(sources) <= 1:
        return [make_thumbnail(s, max_side) for s in sources]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda s: make_thumbnail(s, max_side), sources))
