"""Size and aspect-ratio similarity, from the image dimensions alone.

Copies usually keep the aspect ratio; a different aspect means a crop, a pad or another
picture. Aspect similarity is ``min(r1, r2) / max(r1, r2)`` of the width/height ratios;
the size similarity ``min(area) / max(area)`` is reported beside it but not used for the
verdict (a resized copy is still a copy). Free: it needs no pixels, only the header.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from PIL import Image

from lookalike.decode import SIZE_KEY
from lookalike.methods.base import Kind, Method, Thresholds


def image_size(image: Image.Image) -> tuple[int, int]:
    """The original (width, height) the loader recorded, else the image's own size."""
    w, h = image.info.get(SIZE_KEY, image.size)
    return int(w), int(h)


def aspect_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``min / max`` of the aspect ratios of aligned (w, h) rows."""
    ra = a[..., 0] / a[..., 1]
    rb = b[..., 0] / b[..., 1]
    return np.minimum(ra, rb) / np.maximum(ra, rb)


def size_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``min / max`` of the areas of aligned (w, h) rows."""
    aa = a[..., 0] * a[..., 1]
    ab = b[..., 0] * b[..., 1]
    return np.minimum(aa, ab) / np.maximum(aa, ab)


class AspectRatio(Method):
    """Aspect-ratio similarity of the original dimensions."""

    name = "aspect"
    kind: ClassVar[Kind] = "vector"
    metric = "ratio"
    min_size = 1
    thresholds = Thresholds(similar=0.97, different=0.85)
    reference = "相似图片搜索 (size / aspect-ratio similarity)"

    def prepare(self, image: Image.Image) -> np.ndarray:
        return np.asarray(image_size(image), dtype=np.float64)

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack(prepared).reshape(len(prepared), 2)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return aspect_similarity(np.asarray(a, float), np.asarray(b, float))
