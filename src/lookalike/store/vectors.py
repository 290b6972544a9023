"""Exact inner-product search over unit vectors (GIST, embeddings): k nearest and close pairs.

The float counterpart of :mod:`lookalike.store.hamming`: rows are L2-normalised descriptors,
so the inner product is the cosine. With faiss (the ``index`` extra) the rows go into an
``IndexFlatIP`` (exact, batched; Johnson, Douze & Jegou, "Billion-scale similarity search
with GPUs", 2017); without it the same answers come from numpy matrix products in blocks.
Both paths return the same neighbours (ties aside), which a test checks against brute force.
"""

from __future__ import annotations

import numpy as np

from lookalike.store.hamming import faiss_module

__all__ = ["knn_ip", "vector_pairs"]

#: Elements of one (queries x base) block of similarities in the numpy path.
_BLOCK = 4_000_000


def knn_ip(
    base: np.ndarray, queries: np.ndarray, k: int, *, use_faiss: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``base`` (n, d) with the highest inner product with each query
    (m, d): (similarities (m, k) descending, ids (m, k)); ``k`` is capped at n."""
    base = np.ascontiguousarray(base, np.float32)
    queries = np.ascontiguousarray(queries, np.float32)
    k = min(k, len(base))
    if k <= 0 or len(queries) == 0:
        return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
    faiss = faiss_module(use_faiss)
    if faiss is not None:
        index = faiss.IndexFlatIP(base.shape[1])
        index.add(base)
        sims, ids = index.search(queries, k)
        return sims, ids.astype(np.int64)
    step = max(1, _BLOCK // max(1, len(base)))
    sims = np.empty((len(queries), k), np.float32)
    ids = np.empty((len(queries), k), np.int64)
    for s in range(0, len(queries), step):
        block = queries[s : s + step] @ base.T
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(block, top, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        sims[s : s + step] = np.take_along_axis(vals, order, axis=1)
        ids[s : s + step] = np.take_along_axis(top, order, axis=1)
    return sims, ids


def vector_pairs(
    vectors: np.ndarray, threshold: float, *, k: int = 10, use_faiss: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of rows whose inner product is at least ``threshold``, each row keeping
    only its ``k`` nearest others (so the pairs stay O(n * k)): (i, j, similarity)."""
    n = len(vectors)
    if n < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    sims, ids = knn_ip(vectors, vectors, k + 1, use_faiss=use_faiss)
    rows = np.repeat(np.arange(n), sims.shape[1])
    cols, vals = ids.ravel(), sims.ravel()
    keep = (cols != rows) & (vals >= threshold) & (cols >= 0)
    a, b, v = rows[keep], cols[keep], vals[keep]
    key = np.minimum(a, b) * n + np.maximum(a, b)
    key, first = np.unique(key, return_index=True)
    return key // n, key % n, v[first]
