"""Inner-product search over unit vectors: faiss and numpy agree with brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookalike.decode import load
from lookalike.methods import get_method
from lookalike.store.vectors import knn_ip, vector_pairs


def _unit(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _faiss_or_skip(use_faiss: bool) -> None:
    if use_faiss:
        pytest.importorskip("faiss", reason="faiss is the 'index' extra")


@pytest.mark.parametrize("use_faiss", [False, True], ids=["numpy", "faiss"])
def test_knn_matches_brute_force(use_faiss: bool) -> None:
    _faiss_or_skip(use_faiss)
    base, queries = _unit(500, 32, 0), _unit(40, 32, 1)
    sims, ids = knn_ip(base, queries, 7, use_faiss=use_faiss)
    full = queries @ base.T
    expected = np.argsort(-full, axis=1)[:, :7]
    assert np.array_equal(ids, expected)
    assert np.allclose(sims, np.take_along_axis(full, expected, axis=1), atol=1e-5)
    assert knn_ip(base[:3], queries, 10, use_faiss=use_faiss)[1].shape == (40, 3)


@pytest.mark.parametrize("use_faiss", [False, True], ids=["numpy", "faiss"])
def test_vector_pairs_match_brute_force_on_real_gist(
    use_faiss: bool, sample_photos: list[Path]
) -> None:
    _faiss_or_skip(use_faiss)
    m = get_method("gist")
    ims = [load(p, mode="L", min_size=m.min_size) for p in sample_photos]
    f = m.features(ims)
    i, j, s = vector_pairs(f, 0.6, k=len(f), use_faiss=use_faiss)
    full = f @ f.T
    ei, ej = np.nonzero(np.triu(full >= 0.6, k=1))
    assert np.array_equal(i, ei) and np.array_equal(j, ej)
    assert np.allclose(s, full[ei, ej], atol=1e-5)
    # each row keeps at most k neighbours
    i2, _, _ = vector_pairs(f, -1.0, k=1, use_faiss=use_faiss)
    assert len(i2) <= len(f)
