"""Candidate pairs without comparing all pairs: the cheap recall layer of the detector.

Three sources of candidates, each far below O(n^2) work per pair:

* **hash radius**: all pairs whose perceptual hashes are within a Hamming radius
  (:func:`lookalike.store.hamming.radius_pairs`: exact, multi-index / FAISS);
* **dihedral hashes**: each image's 7 rotated / mirrored pHash codes searched against
  everyone's plain code (copies rotated by 90 degrees or mirrored);
* **visual words**: ORB descriptors quantised into words by locality-sensitive hashing
  (sampled bits of the 256-bit descriptor, several tables, no training), weighted by
  TF-IDF; each image's top-k neighbours by cosine similarity become candidates that the
  local-feature layer verifies (crops, small rotations, pasted copies, captions).
  After Sivic & Zisserman, "Video Google", ICCV 2003, with the words of
  Gionis, Indyk & Motwani, "Similarity Search in High Dimensions via Hashing", VLDB 1999.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix

from lookalike.methods.words import BITS, TABLES, idf, word_ids
from lookalike.store.hamming import radius_pairs, radius_search


def hash_pairs(codes: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) for every pair i < j of code rows within ``radius`` bits."""
    if len(codes) < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    return radius_pairs(np.ascontiguousarray(codes, dtype=np.uint8), radius)


def dihedral_pairs(codes8: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j, distance) where a rotated / mirrored code of one image is within
    ``radius`` of the other's plain code. ``codes8``: (n, 8, nbytes), identity first."""
    n = len(codes8)
    if n < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    plain = np.ascontiguousarray(codes8[:, 0, :])
    queries = np.ascontiguousarray(codes8[:, 1:, :].reshape(n * 7, -1))
    lims, idx, dist = radius_search(plain, queries, radius)
    q = np.repeat(np.arange(n * 7) // 7, np.diff(lims))
    keep = q != idx
    i, j, d = q[keep], idx[keep], dist[keep]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((d, hi, lo))
    lo, hi, d = lo[order], hi[order], d[order]
    first = np.ones(len(lo), bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return lo[first], hi[first], d[first]


def _bag(descriptor_sets: Sequence[np.ndarray]) -> csr_matrix:
    """Term counts: one row per image, one column per visual word."""
    rows, cols = [], []
    for r, desc in enumerate(descriptor_sets):
        if len(desc) == 0 or desc.dtype != np.uint8:
            continue
        w = word_ids(desc).ravel()
        rows.append(np.full(len(w), r, np.int64))
        cols.append(w)
    n_words = TABLES * (1 << BITS)
    if not rows:
        return csr_matrix((len(descriptor_sets), n_words))
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    m = csr_matrix((np.ones(len(r)), (r, c)), shape=(len(descriptor_sets), n_words))
    m.sum_duplicates()
    return m


def _normalise(m: csr_matrix, idf: np.ndarray) -> csr_matrix:
    m = csr_matrix(m.multiply(idf[None, :]))
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return csr_matrix(m.multiply(1.0 / norms[:, None]))


def word_pairs(
    descriptors: Sequence[np.ndarray],
    mirror_descriptors: Sequence[np.ndarray] | None = None,
    *,
    top_k: int = 5,
    min_score: float = 0.02,
    block: int = 1024,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each image's ``top_k`` most similar images by TF-IDF visual words, as pairs
    (i < j, score), mirror images included when ``mirror_descriptors`` are given."""
    n = len(descriptors)
    if n < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0)
    counts = _bag(descriptors)
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    weights = idf(df, n)
    x = _normalise(counts, weights)
    xm = _normalise(_bag(mirror_descriptors), weights) if mirror_descriptors else None
    out_i, out_j, out_s = [], [], []
    xt = x.T.tocsc()
    k = min(top_k, n - 1)
    for start in range(0, n, block):
        stop = min(n, start + block)
        s = (x[start:stop] @ xt).toarray()
        if xm is not None:
            s = np.maximum(s, (xm[start:stop] @ xt).toarray())
        s[np.arange(stop - start), np.arange(start, stop)] = -1.0  # not itself
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        score = np.take_along_axis(s, top, axis=1)
        rows = np.repeat(np.arange(start, stop), k)
        keep = score.ravel() >= min_score
        out_i.append(rows[keep])
        out_j.append(top.ravel()[keep])
        out_s.append(score.ravel()[keep])
    i = np.concatenate(out_i)
    j = np.concatenate(out_j)
    s = np.concatenate(out_s)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((-s, hi, lo))
    lo, hi, s = lo[order], hi[order], s[order]
    first = np.ones(len(lo), bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return lo[first], hi[first], s[first]
