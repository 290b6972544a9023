"""PCA, k-means and the silhouette in numpy, checked against brute force and known blobs."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike.cluster import cluster_vectors, default_k_range
from lookalike.cluster.kmeans import choose_k, kmeans, pca, silhouette


def _blobs(k: int, per: int, dim: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (k, dim))
    labels = np.repeat(np.arange(k), per)
    return centres[labels] + rng.normal(0, 1, (k * per, dim)), labels


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labellings group the rows alike, whatever the label numbers."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_silhouette_matches_the_definition_row_by_row() -> None:
    x, _ = _blobs(3, 7)
    labels = np.random.default_rng(1).integers(0, 3, len(x))
    labels[0] = 3  # a row alone in its cluster scores 0
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    expected = []
    for i in range(len(x)):
        own = labels == labels[i]
        if own.sum() == 1:
            expected.append(0.0)
            continue
        a = d[i, own].sum() / (own.sum() - 1)
        b = min(d[i, labels == c].mean() for c in set(labels.tolist()) if c != labels[i])
        expected.append((b - a) / max(a, b))
    assert silhouette(x, labels) == pytest.approx(np.mean(expected), abs=1e-9)
    assert silhouette(x, np.zeros(len(x), int)) == 0.0


def test_kmeans_recovers_separated_blobs_and_choose_k_finds_their_number() -> None:
    x, truth = _blobs(5, 20)
    labels, centres, inertia = kmeans(x, 5)
    assert _same_partition(labels, truth) and centres.shape == (5, 12) and inertia > 0
    k, chosen, scores = choose_k(x, range(2, 10))
    assert k == 5 and _same_partition(chosen, truth)
    assert max(scores, key=scores.__getitem__) == 5
    again = kmeans(x, 5)[0]
    assert np.array_equal(labels, again)  # seeded: a run is repeatable


def test_pca_keeps_the_variance_asked_and_whitens() -> None:
    rng = np.random.default_rng(2)
    x = (
        rng.normal(0, 1, (200, 4))
        @ np.diag([10.0, 5.0, 1.0, 0.1])
        @ np.linalg.qr(rng.normal(size=(4, 4)))[0]
    )
    r = pca(x, variance=0.9, whiten=False)
    assert r.shape == (200, 2)  # variances 100, 25, 1, 0.01: one is 79%, two are 99%
    w = pca(x, variance=0.999)
    assert w.shape[1] == 3 and np.allclose(w.std(axis=0, ddof=1), 1.0)
    assert np.allclose(w.mean(axis=0), 0.0, atol=1e-9)


def test_cluster_vectors_forced_k_and_small_inputs() -> None:
    x, truth = _blobs(4, 10, dim=40)
    labels, k, scores, comps = cluster_vectors(x, k=4)
    assert k == 4 and _same_partition(labels, truth) and set(scores) == {4} and comps >= 2
    labels, k, _, _ = cluster_vectors(x[:2])
    assert k == 1 and labels.tolist() == [0, 0]
    assert list(default_k_range(100)) == list(range(2, 21))
    with pytest.raises(ValueError, match="--k 50"):
        cluster_vectors(x, k=50)


def test_near_tied_silhouettes_choose_the_finer_clustering() -> None:
    """Three pairs of nearby blobs (seed 5, measured): k = 3 (the pairs) scores 0.749 and
    k = 4 0.744, a tie within SILHOUETTE_TIE, so the finer k = 4 is chosen; k = 5 (0.696)
    is not in the tie."""
    rng = np.random.default_rng(5)
    pairs = np.repeat(rng.normal(0, 10, (3, 4)), 2, axis=0) + rng.normal(0, 3, (6, 4))
    x = pairs[np.repeat(np.arange(6), 12)] + rng.normal(0, 1, (72, 4))
    k, labels, scores = choose_k(x, range(2, 9))
    assert max(scores, key=scores.__getitem__) == 3
    assert k == 4 and len(set(labels.tolist())) == 4
