"""Visual words: which ORB descriptor words an image holds, as one binary code.

Each 256-bit ORB descriptor is quantised into words by locality-sensitive hashing: a few
fixed, randomly sampled bits of the descriptor form the word id, in several tables, so
two descriptors of the same corner agree on a word with high probability (no vocabulary
to train). An image becomes the set of words its descriptors hit; two images that share
a region (a crop, a pasted figure, a captioned copy) share many words, unrelated ones
few. Compared by the cosine of the two word sets, it finds the candidates that the
keypoint layer then verifies: it never decides a pair on its own.

References: J. Sivic and A. Zisserman, "Video Google: a text retrieval approach to object
matching in videos", ICCV 2003 (visual words); A. Gionis, P. Indyk and R. Motwani,
"Similarity search in high dimensions via hashing", VLDB 1999 (bit-sampling LSH).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from PIL import Image

from lookalike.methods.base import Kind, Method, Thresholds
from lookalike.methods.local import extract_local

#: Tables of sampled bits, and bits per table (2**bits words per table).
TABLES = 4
BITS = 12
_SEED = 20130326


def _sampled_bits() -> np.ndarray:
    return np.random.default_rng(_SEED).choice(256, size=(TABLES, BITS))


_SAMPLED = _sampled_bits()


def word_ids(descriptors: np.ndarray) -> np.ndarray:
    """(m, 32) uint8 ORB descriptors -> (m, TABLES) word ids, each table its own range."""
    bits = np.unpackbits(np.asarray(descriptors, dtype=np.uint8), axis=1)  # (m, 256)
    sampled = bits[:, _SAMPLED.ravel()].reshape(len(bits), TABLES, BITS)
    weights = 1 << np.arange(BITS - 1, -1, -1)
    return (sampled.astype(np.int64) * weights).sum(axis=2) + np.arange(TABLES) * (1 << BITS)


def idf(document_frequency: np.ndarray, n_images: int) -> np.ndarray:
    """Inverse document frequency of each word: ``log((n + 1) / (df + 1)) + 1``.

    The smoothed form (as scikit-learn's ``TfidfTransformer``): a word in every image still
    weighs 1, never 0, and an unseen word is finite. Duplicate search (TF-IDF candidates)
    and collection search (word ranking) both weigh words with this one function.
    """
    return np.log((n_images + 1) / (np.asarray(document_frequency) + 1.0)) + 1.0


class VisualWords(Method):
    """The set of ORB visual words of an image, a (TABLES * 4096)-bit packed set.

    Stored as packed bits like a code, but compared by the cosine of the two sets, not by
    Hamming distance: it is a ``vector`` method, so no caller takes the Hamming path.
    """

    name = "words"
    kind: ClassVar[Kind] = "vector"
    min_size = 360
    bits = TABLES * (1 << BITS)
    metric = "cosine of word sets"
    version: ClassVar[int] = 1
    #: A candidate finder only: it never calls a pair similar or different by itself.
    decides = False
    thresholds = Thresholds(similar=2.0, different=-1.0, identical=2.0)
    reference = "Sivic & Zisserman, Video Google, ICCV 2003; Gionis et al., VLDB 1999"

    def __init__(self, n_features: int = 500) -> None:
        self.n_features = n_features

    def prepare(self, image: Image.Image) -> np.ndarray:
        grey = np.asarray(image if image.mode == "L" else image.convert("L"))
        feats = extract_local(grey, n_features=self.n_features, mirror=False)
        present = np.zeros(self.bits, dtype=bool)
        if len(feats.descriptors):
            present[word_ids(feats.descriptors).ravel()] = True
        return np.packbits(present)

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack(prepared).reshape(len(prepared), -1)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cosine of the word sets: shared words / sqrt(words of a * words of b)."""
        a = np.asarray(a, dtype=np.uint8)
        b = np.asarray(b, dtype=np.uint8)
        shared = np.bitwise_count(a & b).sum(axis=-1, dtype=np.int64)
        na = np.bitwise_count(a).sum(axis=-1, dtype=np.int64)
        nb = np.bitwise_count(b).sum(axis=-1, dtype=np.int64)
        den = np.sqrt(na * nb)
        return np.divide(shared, den, out=np.zeros(np.shape(shared)), where=den > 0)

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return 1.0 - self.similarity(a, b)
