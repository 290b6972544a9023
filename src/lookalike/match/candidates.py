"""Candidate pairs without comparing all pairs: the cheap recall layer of the detector.

Four sources of candidates, each far below O(n^2) work per pair:

* **hash radius**: pairs whose perceptual hashes are within a Hamming radius
  (:func:`lookalike.store.hamming.neighbour_pairs`: multi-index / FAISS), capped so a
  folder of identical or near-identical images gives O(n) pairs, not O(n^2);
* **dihedral hashes**: each image's 7 rotated / mirrored pHash codes searched against
  everyone's plain code (copies rotated by 90 degrees or mirrored), capped the same way;
* **region codes** (:mod:`lookalike.methods.regions`): each image's trimmed, cropped and
  slightly rotated pHash codes searched against everyone's plain, trimmed and central
  codes (framed and letterboxed copies, crops to 55-80 %, rotations by 5-10 degrees),
  each distinct code keeping only its few nearest, so the pairs stay O(n * k);
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

from lookalike.methods.regions import ANCHORS, PROBES
from lookalike.methods.words import BITS, TABLES, idf, word_ids
from lookalike.store.hamming import (
    NEIGHBOURS,
    identical_stars,
    neighbour_pairs,
    neighbour_search,
    radius_search,
)


def hash_pairs(
    codes: np.ndarray, radius: int, *, max_neighbours: int | None = NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) for pairs i < j of code rows within ``radius`` bits.

    Capped (default): identical codes as a star around their first row, each distinct
    code's ``max_neighbours`` nearest, and a spanning forest, so every pair within
    ``radius`` stays connected with O(n * max_neighbours) pairs
    (:func:`~lookalike.store.hamming.neighbour_pairs`). ``None``: every pair.
    """
    if len(codes) < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    u8 = np.ascontiguousarray(codes, dtype=np.uint8)
    return neighbour_pairs(u8, radius, max_neighbours=max_neighbours)


def dihedral_pairs(
    codes8: np.ndarray, radius: int, *, max_neighbours: int | None = NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j, distance) where a rotated / mirrored code of one image is within
    ``radius`` of the other's plain code. ``codes8``: (n, 8, nbytes), identity first.

    Capped (default): each distinct rotated code keeps its ``max_neighbours`` nearest
    plain codes plus a spanning forest, and images sharing a rotated or a plain code are
    linked as stars, so every such pair stays connected with O(n * max_neighbours) pairs;
    the distance is then the pair's least rotated-vs-plain distance. ``None``: every pair.
    """
    n = len(codes8)
    if n < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    plain = np.ascontiguousarray(codes8[:, 0, :])
    queries = np.ascontiguousarray(codes8[:, 1:, :].reshape(n * 7, -1))
    if max_neighbours is not None:
        return _capped_dihedral(codes8, plain, queries, radius, max_neighbours)
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


def _capped_dihedral(
    codes8: np.ndarray, plain: np.ndarray, queries: np.ndarray, radius: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`dihedral_pairs` with at most ``k`` nearest per distinct rotated code."""
    q, j, _ = neighbour_search(plain, queries, radius, max_neighbours=k)
    qf, qr = identical_stars(queries)
    pf, pr = identical_stars(plain)
    a = np.concatenate([q // 7, qf // 7, pf])
    b = np.concatenate([j, qr // 7, pr])
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    key = np.unique(lo * len(plain) + hi)
    lo, hi = key // len(plain), key % len(plain)
    return lo, hi, _dihedral_distance(codes8, lo, hi)


#: Nearest anchors each distinct region code keeps: a true copy's code is its nearest or
#: nearly so, and every further neighbour is a false candidate that costs a keypoint check.
REGION_NEIGHBOURS = 8


def region_pairs(
    codes: np.ndarray, radius: int, *, max_neighbours: int = REGION_NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) where a probe code of one image (trimmed, a crop, a small rotation;
    :data:`~lookalike.methods.regions.PROBES`) is within ``radius`` of an anchor code of the
    other (plain, trimmed, centre; :data:`~lookalike.methods.regions.ANCHORS`).

    ``codes``: (n, codes, nbytes) as :meth:`lookalike.methods.regions.RegionHashes.codes`
    gives. Each distinct probe keeps its ``max_neighbours`` nearest distinct anchors plus a
    spanning forest (:func:`~lookalike.store.hamming.neighbour_search`), and images
    sharing a probe or an anchor code exactly are linked as stars: O(n * k) pairs.
    """
    n = len(codes)
    if n < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty
    width = codes.shape[-1]
    anchors = np.ascontiguousarray(codes[:, ANCHORS, :].reshape(-1, width))
    probes = np.ascontiguousarray(codes[:, PROBES, :].reshape(-1, width))
    q, j, _ = neighbour_search(anchors, probes, radius, max_neighbours=max_neighbours)
    qf, qr = identical_stars(probes)
    af, ar = identical_stars(anchors)
    np_, na = len(PROBES), len(ANCHORS)
    a = np.concatenate([q // np_, qf // np_, af // na])
    b = np.concatenate([j // na, qr // np_, ar // na])
    keep = a != b
    key = np.unique(np.minimum(a[keep], b[keep]) * n + np.maximum(a[keep], b[keep]))
    return key // n, key % n


def _dihedral_distance(codes8: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least distance between a rotated code of one image and the other's plain code."""
    best = np.empty(len(a), np.int32)
    step = 1 << 16
    for s in range(0, len(a), step):
        x, y = codes8[a[s : s + step]], codes8[b[s : s + step]]
        d1 = np.bitwise_count(x[:, 1:, :] ^ y[:, :1, :]).sum(axis=2, dtype=np.int32).min(axis=1)
        d2 = np.bitwise_count(y[:, 1:, :] ^ x[:, :1, :]).sum(axis=2, dtype=np.int32).min(axis=1)
        best[s : s + step] = np.minimum(d1, d2)
    return best


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
    row_ids = np.concatenate(rows)
    col_ids = np.concatenate(cols)
    m = csr_matrix(
        (np.ones(len(row_ids)), (row_ids, col_ids)), shape=(len(descriptor_sets), n_words)
    )
    m.sum_duplicates()
    return m


def _normalise(m: csr_matrix, weights: np.ndarray) -> csr_matrix:
    m = csr_matrix(m.multiply(weights[None, :]))
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return csr_matrix(m.multiply(1.0 / norms[:, None]))


#: Largest dense word matrix (bytes, float32) :func:`word_pairs` multiplies with BLAS;
#: larger collections use sparse products (same scores up to float32 rounding).
DENSE_WORD_BYTES = 128 << 20


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
    k = min(top_k, n - 1)
    # ~20 % of each table's words occur in an image, so the products are nearly dense:
    # BLAS on dense float32 rows is ~4x faster than sparse products, while they fit.
    dense = n * x.shape[1] * 4 <= DENSE_WORD_BYTES
    xt = x.T.toarray().astype(np.float32) if dense else x.T.tocsc()

    def scores(m: csr_matrix, start: int, stop: int) -> np.ndarray:
        part = m[start:stop]
        if dense:
            return part.toarray().astype(np.float32) @ xt  # type: ignore[no-any-return]
        return (part @ xt).toarray()  # type: ignore[no-any-return]

    for start in range(0, n, block):
        stop = min(n, start + block)
        s = scores(x, start, stop)
        if xm is not None:
            s = np.maximum(s, scores(xm, start, stop))
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
