"""GIST, the classic global scene descriptor: Gabor energies averaged over a 4x4 grid.

Oliva and Torralba's GIST describes the layout of a scene by how much energy sits at each
scale and orientation in each region of the picture. As in their reference code
(``LMgist.m``, Oliva & Torralba 2001; the parameters of Douze et al. 2009):

1. the grey image, resized to 128x128, is pre-filtered: ``log(1 + I)``, whitened by a
   Gaussian high-pass (``fc = 4``) and divided by its local contrast;
2. it is padded by 32 pixels (mirror) and filtered in the Fourier domain by a bank of
   4 scales x 8 orientations of Gabor-like transfer functions
   ``exp(-10 a (|f|/n/b - 1)^2 - 2 c pi (theta + theta_j)^2)``, ``a = 0.35``,
   ``b = 0.3 / 1.85^s``, ``c = 16 * 8^2 / 32^2``;
3. each response's magnitude is averaged over a 4 x 4 grid: 32 filters x 16 cells = 512
   numbers, L2-normalised here so two descriptors compare by cosine (a dot product).

GIST sees the layout of a scene: it ranks another photo of a similar place high, which a
hash never does, and it tolerates resizing and recompression; it is not a copy detector
(crops and flips move its grid). Its similarity is the cosine in [0, 1] (energies are
non-negative, so the cosine is too); its thresholds are measured on the benchmarks of
``eval make`` (:data:`GIST_THRESHOLDS`).

References
----------
A. Oliva and A. Torralba, "Modeling the Shape of the Scene: A Holistic Representation of
the Spatial Envelope", IJCV 42(3):145-175, 2001. M. Douze, H. Jegou, H. Sandhawalia,
L. Amsaleg, C. Schmid, "Evaluation of GIST descriptors for web-scale image search",
CIVR 2009.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import ClassVar

import numpy as np
from PIL import Image

from lookalike.methods.base import Kind, Method, Thresholds

#: Side of the square grey image the filters see (LMgist's ``imageSize``).
SIDE = 128
#: Mirror padding before filtering (LMgist's ``boundaryExtension``).
PAD = 32
#: Orientations per scale (LMgist's ``orientationsPerScale``), finest scale first.
ORIENTATIONS = (8, 8, 8, 8)
#: Cells per side of the averaging grid (LMgist's ``numberBlocks``).
GRID = 4
#: Cut-off of the whitening / contrast-normalisation Gaussian (LMgist's ``fc_prefilt``).
PREFILTER_FC = 4.0
#: Length of a descriptor: 32 filters x 16 cells.
DIMENSIONS = sum(ORIENTATIONS) * GRID * GRID

#: Measured by bench/vector_thresholds.py on the attack suite of docs/accuracy.md (`eval
#: make` of the 38 corpus wallpapers, seed 0: 1710 attacked copies x 38 references):
#: precision reaches 0.99 at cosine 0.927 (recall 0.59; at 0.93 precision 0.99+), so
#: ``>= 0.93`` is similar. Below 0.80 a pair is different: there precision is 0.27 and the
#: true copies left below (25%) are crops, borders and rotations, which move GIST's grid and
#: only keypoints can confirm. Identical pixels give 1.0.
GIST_THRESHOLDS = Thresholds(similar=0.93, different=0.80, identical=0.9999)


@cache
def gabor_bank(
    side: int = SIDE + 2 * PAD, orientations: tuple[int, ...] = ORIENTATIONS
) -> np.ndarray:
    """The Fourier-domain transfer functions, (filters, side, side) float32 (LMgist's
    ``createGabor``), laid out for an unshifted FFT."""
    params = [
        (0.35, 0.3 / (1.85**s), 16 * n**2 / 32**2, np.pi / n * j)
        for s, n in enumerate(orientations)
        for j in range(n)
    ]
    f = np.arange(-side // 2, side // 2, dtype=np.float64)
    fx, fy = np.meshgrid(f, f)
    fr = np.fft.fftshift(np.hypot(fx, fy))
    theta = np.fft.fftshift(np.angle(fx + 1j * fy))
    bank = np.empty((len(params), side, side), np.float32)
    for k, (a, b, c, t0) in enumerate(params):
        tr = theta + t0
        tr = tr + 2 * np.pi * (tr < -np.pi) - 2 * np.pi * (tr > np.pi)
        bank[k] = np.exp(-10 * a * (fr / side / b - 1) ** 2 - 2 * c * np.pi * tr**2)
    return bank


@cache
def _prefilter_gain(side: int, fc: float) -> np.ndarray:
    """The Gaussian low-pass of the pre-filter in the (unshifted) Fourier domain."""
    s1 = fc / np.sqrt(np.log(2))
    f = np.fft.fftfreq(side) * side
    fx, fy = np.meshgrid(f, f)
    return np.exp(-(fx**2 + fy**2) / s1**2).astype(np.float32)


def prefilter(images: np.ndarray, fc: float = PREFILTER_FC) -> np.ndarray:
    """Whitening and local contrast normalisation of (n, side, side) grey images in [0, 255]
    (LMgist's ``prefilt``): ``log(1 + I)``, minus its low-pass, divided by local contrast."""
    from scipy import fft

    w = 5  # LMgist's padding against wrap-around
    x = np.log1p(np.asarray(images, np.float32))
    x = np.pad(x, ((0, 0), (w, w), (w, w)), mode="symmetric")
    side = x.shape[-1]
    g = _prefilter_gain(side, fc)
    high = x - fft.ifft2(fft.fft2(x, axes=(1, 2)) * g, axes=(1, 2)).real
    local = np.sqrt(np.abs(fft.ifft2(fft.fft2(high * high, axes=(1, 2)) * g, axes=(1, 2))))
    out = high / (0.2 + local)
    return out[:, w:-w, w:-w].astype(np.float32)


def gist(images: np.ndarray) -> np.ndarray:
    """GIST of (n, 128, 128) grey images in [0, 255]: (n, 512) float32 rows, L2-normalised.

    Rows are laid out filter by filter (finest scale first), each filter's 4 x 4 cells in
    row-major order.
    """
    from scipy import fft

    x = prefilter(images)
    n = x.shape[0]
    padded = np.pad(x, ((0, 0), (PAD, PAD), (PAD, PAD)), mode="symmetric")
    spectrum = fft.fft2(padded, axes=(1, 2))
    bank = gabor_bank(padded.shape[-1], ORIENTATIONS)
    cell = SIDE // GRID
    out = np.empty((n, len(bank), GRID * GRID), np.float32)
    for k, g in enumerate(bank):  # one filter at a time, the whole batch at once
        response = np.abs(fft.ifft2(spectrum * g, axes=(1, 2)))
        response = response[:, PAD : PAD + SIDE, PAD : PAD + SIDE]
        out[:, k] = response.reshape(n, GRID, cell, GRID, cell).mean(axis=(2, 4)).reshape(n, -1)
    flat = out.reshape(n, -1)
    norm = np.linalg.norm(flat, axis=1, keepdims=True)
    return np.divide(flat, norm, out=np.zeros_like(flat), where=norm > 0)


class Gist(Method):
    """GIST (Oliva & Torralba 2001): 512 Gabor energies on a 4x4 grid, cosine similarity."""

    name = "gist"
    kind: ClassVar[Kind] = "vector"
    metric = "cosine"
    min_size = SIDE
    thresholds = GIST_THRESHOLDS
    reference = "Oliva & Torralba, IJCV 42(3):145-175, 2001; LMgist.m; Douze et al., CIVR 2009"
    version: ClassVar[int] = 1

    def prepare(self, image: Image.Image) -> np.ndarray:
        grey = image if image.mode == "L" else image.convert("L")
        return np.asarray(grey.resize((SIDE, SIDE), Image.Resampling.BILINEAR))

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        if not prepared:
            return np.zeros((0, DIMENSIONS), np.float32)
        return gist(np.stack(prepared))

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cosine of the unit rows, clipped to [0, 1]."""
        a = np.asarray(a, np.float64)
        b = np.asarray(b, np.float64)
        return np.clip((a * b).sum(axis=-1), 0.0, 1.0)
