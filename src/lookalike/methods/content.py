"""The content fingerprint of the sources: 50x50 grey, Otsu threshold, compare by XOR.

The image is reduced to a 50x50 grey thumbnail and binarised at the threshold that
Otsu's method picks (the one that maximises the between-class variance of the grey
histogram). The 2,500 bits are compared by XOR: similarity = 1 - differing bits / 2500.
Unlike aHash it keeps the shapes of a figure at a useful resolution, which suits charts
and scanned documents.

References: 阮一峰, 相似图片搜索的原理（二）, 2013 (内容特征法);
N. Otsu, "A Threshold Selection Method from Gray-Level Histograms", IEEE SMC 9(1), 1979.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from lookalike.methods.base import CodeMethod, Thresholds
from lookalike.methods.hashes import pack_bits

SIDE = 50
#: A mask with more than this share of its pixels in one class is near-uniform: the image
#: is flat, blank or mostly dark, and two such masks agree whatever the pictures show.
UNIFORM_AT = 0.9


def otsu_thresholds(grey: np.ndarray) -> np.ndarray:
    """Otsu's threshold for each image of an (n, h, w) uint8 batch, vectorized.

    Returns (n,) thresholds t: pixels ``> t`` are foreground. A flat image gets its value.
    """
    grey = np.asarray(grey, dtype=np.uint8)
    n = grey.shape[0]
    flat = grey.reshape(n, -1).astype(np.int64) + np.arange(n)[:, None] * 256
    hist = np.bincount(flat.ravel(), minlength=256 * n).reshape(n, 256).astype(np.float64)
    p = hist / hist.sum(axis=1, keepdims=True)
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(p, axis=1)  # weight of class <= t
    mu = np.cumsum(p * levels, axis=1)  # cumulative mean
    mu_total = mu[:, -1:]
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_total * w0 - mu) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1.0
    best = between.max(axis=1, keepdims=True)
    # Several maxima (e.g. a two-valued image): take the middle of the plateau.
    is_best = between >= best - 1e-12 * np.abs(best)
    first = is_best.argmax(axis=1)
    last = 255 - is_best[:, ::-1].argmax(axis=1)
    t = (first + last) // 2
    flat_images = best[:, 0] < 0
    return np.where(flat_images, grey.reshape(n, -1)[:, 0], t).astype(np.int64)


class ContentFingerprint(CodeMethod):
    """50x50 grey thumbnail binarised by Otsu's threshold: 2,500 bits compared by XOR."""

    name = "content"
    min_size = 100
    bits = SIDE * SIDE
    # Measured on real photos (docs/accuracy.md): near-duplicates keep >= 90% of bits.
    thresholds = Thresholds(similar=0.90, different=0.80)
    reference = "阮一峰, 相似图片搜索的原理（二）, 2013; Otsu 1979"

    def prepare(self, image: Image.Image) -> np.ndarray:
        grey = image if image.mode == "L" else image.convert("L")
        return np.asarray(grey.resize((SIDE, SIDE), Image.Resampling.LANCZOS))

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        grey = np.stack(prepared)
        t = otsu_thresholds(grey)
        return pack_bits(grey > t[:, None, None])

    def relations(self, a: np.ndarray, b: np.ndarray) -> list[str]:
        """``"flat"`` where either mask is near-uniform (:data:`UNIFORM_AT`), else ``""``.

        The cascade then lets neither this mask nor a hash call the pair similar alone.
        """
        share = [np.bitwise_count(np.asarray(x, np.uint8)).sum(axis=-1) / self.bits for x in (a, b)]
        flat = np.zeros(np.broadcast_shapes(share[0].shape, share[1].shape), bool)
        for f in share:
            flat = flat | (f > UNIFORM_AT) | (f < 1 - UNIFORM_AT)
        return ["flat" if v else "" for v in np.atleast_1d(flat)]
