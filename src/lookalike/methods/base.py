"""The one small protocol every similarity method implements.

A method turns a decoded image into a feature (``prepare``: per image, cheap resizing
only), turns a stacked batch of prepared arrays into feature rows (``compute``: vectorized
numpy), and compares feature rows (``distance`` / ``similarity``: vectorized over aligned
rows). Adding a method touches its own module and one line of the registry in
:mod:`lookalike.methods`.

Three kinds:

* ``code``: binary codes as packed ``uint8`` rows (bit 0 = most significant bit of byte 0),
  compared by Hamming distance (aHash, dHash, pHash, wHash, the content fingerprint);
* ``vector``: float rows (colour histogram, size / aspect, SSIM thumbnails);
* ``pair``: features that can only be compared pair by pair (local keypoints).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from PIL import Image

Verdict = Literal["identical", "similar", "uncertain", "different"]
Kind = Literal["code", "vector", "pair"]


@dataclass(frozen=True)
class Thresholds:
    """Similarity cut-offs in [0, 1]: ``>= similar`` is similar, ``< different`` is different,
    anything between is uncertain (left to a costlier layer); ``>= identical`` is identical."""

    similar: float
    different: float
    identical: float = 1.0

    def verdict(self, similarity: float) -> Verdict:
        """Map one similarity to a verdict."""
        if similarity >= self.identical:
            return "identical"
        if similarity >= self.similar:
            return "similar"
        if similarity < self.different:
            return "different"
        return "uncertain"


class Method(ABC):
    """A similarity method: class attributes declare it, subclasses implement the maths."""

    name: ClassVar[str]
    kind: ClassVar[Kind]
    #: "hamming", "cosine", "pearson", "ssim", "ratio", "inliers" (an instance may choose)
    metric: str
    #: True when the method reads luminance only (the loader may decode greyscale)
    grey: ClassVar[bool] = True
    #: Short side, in pixels, the method needs from the decoder (JPEG draft scaling); an
    #: instance may need more (a larger hash)
    min_size: int = 64
    #: The verdict cut-offs (a run may move them: `dupes --threshold`)
    thresholds: Thresholds
    #: Where the method comes from, for the docs and the reader
    reference: ClassVar[str] = ""
    #: False for a method that only finds candidates (its verdict is always uncertain)
    decides: ClassVar[bool] = True

    @abstractmethod
    def prepare(self, image: Image.Image) -> Any:
        """Reduce one decoded image to what :meth:`compute` needs (resizing, grey)."""

    @abstractmethod
    def compute(self, prepared: Sequence[Any]) -> Any:
        """Turn prepared items into a batch of features (an ndarray for code/vector kinds)."""

    def features(self, images: Iterable[Image.Image]) -> Any:
        """Features of a batch of decoded images."""
        return self.compute([self.prepare(im) for im in images])

    @abstractmethod
    def similarity(self, a: Any, b: Any) -> np.ndarray:
        """Similarity in [0, 1] of aligned feature rows ``a[i]`` and ``b[i]`` (broadcasts)."""

    def distance(self, a: Any, b: Any) -> np.ndarray:
        """Distance of aligned rows; by default ``1 - similarity``."""
        return 1.0 - self.similarity(a, b)

    def verdict(self, similarity: float) -> Verdict:
        """The method's own verdict for one similarity, from its documented thresholds."""
        return self.thresholds.verdict(similarity)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class CodeMethod(Method):
    """A method whose features are binary codes compared by Hamming distance."""

    kind: ClassVar[Kind] = "code"
    metric: str = "hamming"
    bits: int

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Hamming distance of packed-uint8 code rows."""
        return hamming(a, b)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``1 - d / bits``, the similarity of the sources."""
        return 1.0 - hamming(a, b) / self.bits

    def distance_matrix(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """All distances between the rows of ``a`` (n, ...) and ``b`` (m, ...): (n, m)."""
        return hamming_matrix(a, b)

    def distance_thresholds(self) -> tuple[int, int]:
        """(similar if d <= this, different if d > this) in bits for this code length."""
        s = round((1.0 - self.thresholds.similar) * self.bits)
        d = round((1.0 - self.thresholds.different) * self.bits)
        return s, d


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distance between packed ``uint8`` code rows (last axis = bytes), broadcasting."""
    x = np.bitwise_xor(np.asarray(a, dtype=np.uint8), np.asarray(b, dtype=np.uint8))
    return np.bitwise_count(x).sum(axis=-1, dtype=np.int64)


def hamming_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All distances between code rows of ``a`` (n, k) and ``b`` (m, k): an (n, m) int matrix."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    b = np.ascontiguousarray(b, dtype=np.uint8)
    if a.shape[1] % 8 == 0:  # whole 64-bit words: 8x fewer operations
        a64 = a.view(np.uint64)
        b64 = b.view(np.uint64)
        return np.bitwise_count(a64[:, None, :] ^ b64[None, :, :]).sum(axis=-1, dtype=np.int64)
    return hamming(a[:, None, :], b[None, :, :])
