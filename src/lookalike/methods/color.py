"""The colour histogram of the sources: each channel in 4 levels, 64 bins, cosine or Pearson.

Each RGB channel is reduced to 4 levels (0-63, 64-127, 128-191, 192-255), so a pixel falls
in one of 4 x 4 x 4 = 64 bins; the histogram counts pixels per bin, normalised to sum 1.
Two histograms are compared by cosine similarity (the sources' default) or by Pearson
correlation (mapped to [0, 1] as ``(r + 1) / 2``). Colour ignores layout: it is a cheap
filter that tells different scenes apart, never proof of a copy on its own.

Reference: 阮一峰, 相似图片搜索的原理（二）, 2013 (colour distribution method).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from PIL import Image

from lookalike.errors import UsageError
from lookalike.methods.base import Kind, Method, Thresholds

BINS = 64
#: Thumbnail side used to count colours: 64x64 = 4096 pixels are plenty for 64 bins.
SIDE = 64


def colour_histograms(rgb: np.ndarray) -> np.ndarray:
    """(n, h, w, 3) uint8 images -> (n, 64) float64 histograms that each sum to 1."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    n = rgb.shape[0]
    q = (rgb >> 6).astype(np.int64)  # 4 levels per channel
    idx = (q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).reshape(n, -1)
    idx += np.arange(n)[:, None] * BINS  # one bincount for the whole batch
    counts = np.bincount(idx.ravel(), minlength=n * BINS).reshape(n, BINS).astype(np.float64)
    return counts / counts.sum(axis=1, keepdims=True)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of aligned rows (broadcasting); 0 where a row is all zero."""
    num = (a * b).sum(axis=-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of aligned rows, in [-1, 1] (1 for two identical flat rows)."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    num = (a * b).sum(axis=-1)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    flat = den == 0
    r = np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=~flat)
    return np.where(flat, np.where(np.all(a == b, axis=-1), 1.0, 0.0), r)


class ColorHistogram(Method):
    """64-bin colour histogram compared by cosine (default) or Pearson."""

    name = "color"
    kind: ClassVar[Kind] = "vector"
    grey = False
    min_size = SIDE
    thresholds = Thresholds(similar=0.95, different=0.80, identical=0.9999)
    reference = "阮一峰, 相似图片搜索的原理（二）, 2013"

    def __init__(self, metric: Literal["cosine", "pearson"] = "cosine") -> None:
        if metric not in ("cosine", "pearson"):
            raise UsageError(f"metric must be 'cosine' or 'pearson', got {metric!r}")
        self.metric = metric

    def prepare(self, image: Image.Image) -> np.ndarray:
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        return np.asarray(rgb.resize((SIDE, SIDE), Image.Resampling.BOX))

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        return colour_histograms(np.stack(prepared))

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":
            return np.clip(cosine(a, b), 0.0, 1.0)
        return (pearson(a, b) + 1.0) / 2.0
