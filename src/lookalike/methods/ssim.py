"""Structural similarity (SSIM) with a Gaussian window, batched.

SSIM compares local means, variances and covariance of two grey images
(Wang, Bovik, Sheikh and Simoncelli, "Image Quality Assessment: From Error Visibility to
Structural Similarity", IEEE TIP 13(4), 2004): a Gaussian window with sigma 1.5,
K1 = 0.01, K2 = 0.03, population covariances. :func:`ssim` agrees with
``skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)`` to 1e-3 (pinned by a test).

As a method, both images are reduced to the same 128x128 grey thumbnail first, so SSIM
judges copies that were resized or recompressed; it is sensitive to crops and shifts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from PIL import Image

from lookalike.errors import UsageError
from lookalike.methods.base import Kind, Method, Thresholds

SIDE = 128
SIGMA = 1.5
TRUNCATE = 3.5  # window radius 5: an 11x11 window, as in the paper and scikit-image


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> np.ndarray:
    """Mean SSIM of aligned grey images: (h, w) pairs or (n, h, w) batches -> float(s).

    The border (half a window) is left out of the mean, as scikit-image does.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise UsageError(f"SSIM needs images of one shape, got {a.shape} and {b.shape}")
    single = a.ndim == 2
    if single:
        a, b = a[None], b[None]
    from scipy.ndimage import gaussian_filter  # imported here: scipy costs ~0.2 s to import

    sig = (0, SIGMA, SIGMA)

    def blur(x: np.ndarray) -> np.ndarray:
        return gaussian_filter(x, sigma=sig, truncate=TRUNCATE, mode="reflect")

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    )
    pad = int(TRUNCATE * SIGMA + 0.5)
    out = s[:, pad:-pad, pad:-pad].mean(axis=(1, 2))
    return out[0] if single else out


class SSIM(Method):
    """SSIM of 128x128 grey thumbnails; the feature is the thumbnail itself."""

    name = "ssim"
    kind: ClassVar[Kind] = "vector"
    metric = "ssim"
    min_size = SIDE
    thresholds = Thresholds(similar=0.80, different=0.50, identical=0.999)
    reference = "Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 13(4):600-612, 2004"

    def prepare(self, image: Image.Image) -> np.ndarray:
        grey = image if image.mode == "L" else image.convert("L")
        return np.asarray(grey.resize((SIDE, SIDE), Image.Resampling.LANCZOS))

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack(prepared).reshape(len(prepared), -1)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.broadcast_arrays(np.atleast_2d(a), np.atleast_2d(b))
        shape = (-1, SIDE, SIDE)
        return np.clip(ssim(a.reshape(shape), b.reshape(shape)), 0.0, 1.0)
