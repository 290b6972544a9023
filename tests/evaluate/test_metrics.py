"""The metrics against hand-computed values, brute force and scipy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr

from lookalike.evaluate.metrics import (
    average_ranks,
    micro_ap,
    precision_recall,
    recall_at_precision,
    recall_at_threshold,
    roc_auc,
    spearman,
)


def brute_uap(scores: np.ndarray, labels: np.ndarray, n_pos: int) -> float:
    """µAP by its definition, one rank at a time: sum of precision x recall gained."""
    items = sorted(zip(scores, labels, strict=True), key=lambda t: (-t[0], t[1]))
    tp, ap, prev_recall = 0, 0.0, 0.0
    for k, (_, y) in enumerate(items, start=1):
        tp += int(y)
        recall = tp / n_pos
        ap += (tp / k) * (recall - prev_recall)
        prev_recall = recall
    return ap


def brute_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(score of a positive > score of a negative) + half the ties, over all pairs."""
    pos, neg = scores[labels], scores[~labels]
    wins = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_perfect_ranking_gives_uap_one() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    labels = np.array([True, True, True, False, False])
    assert micro_ap(scores, labels) == 1.0
    op = recall_at_precision(scores, labels, 0.99)
    assert (op.recall, op.threshold, op.precision) == (1.0, 0.7, 1.0)
    assert roc_auc(scores, labels) == 1.0


def test_uap_hand_computed() -> None:
    # ranks: + - + -, 3 ground-truth pairs (one never predicted):
    # precision at the hits 1/1 and 2/3 -> (1 + 2/3) / 3
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    labels = np.array([True, False, True, False])
    assert micro_ap(scores, labels, n_positives=3) == pytest.approx((1 + 2 / 3) / 3)
    assert micro_ap(scores, labels) == pytest.approx((1 + 2 / 3) / 2)


def test_ties_are_ranked_pessimistically() -> None:
    # one positive and one negative at the same score: the negative counts first
    scores = np.array([0.5, 0.5])
    labels = np.array([True, False])
    assert micro_ap(scores, labels) == pytest.approx(0.5)
    # and a threshold cannot split the tie: precision 0.5 < 0.99 -> nothing
    assert recall_at_precision(scores, labels, 0.99).threshold is None


@pytest.mark.parametrize("seed", range(5))
def test_uap_and_auc_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 200
    labels = rng.random(n) < 0.3
    # rounded scores make plenty of ties
    scores = np.round(rng.random(n) + labels * rng.random(n) * 0.8, 1)
    n_pos = int(labels.sum()) + 7  # some ground truth never predicted
    assert micro_ap(scores, labels, n_pos) == pytest.approx(brute_uap(scores, labels, n_pos))
    assert roc_auc(scores, labels) == pytest.approx(brute_auc(scores, labels))


@pytest.mark.parametrize("seed", range(5))
def test_recall_at_precision_is_the_best_achievable_threshold(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(300) < 0.4
    scores = np.round(rng.random(300) * 0.5 + labels * 0.6, 2)
    target = 0.9
    op = recall_at_precision(scores, labels, target)
    best = 0.0
    for t in np.unique(scores):  # brute force over every threshold
        pt = recall_at_threshold(scores, labels, t)
        if pt.precision >= target:
            best = max(best, pt.recall)
    assert op.recall == pytest.approx(best)
    assert op.threshold is not None
    check = recall_at_threshold(scores, labels, op.threshold)
    assert check.precision >= target
    assert check.recall == pytest.approx(op.recall)


def test_precision_recall_curve_ends() -> None:
    p, r, s = precision_recall(np.array([0.2, 0.9, 0.5]), np.array([False, True, True]))
    assert list(s) == [0.9, 0.5, 0.2]
    assert list(p) == [1.0, 1.0, pytest.approx(2 / 3)]
    assert list(r) == [0.5, 1.0, 1.0]


def test_nan_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        micro_ap(np.array([0.1, np.nan]), np.array([True, False]))


@pytest.mark.parametrize("seed", range(5))
def test_ranks_and_spearman_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, 60).astype(float)  # many ties
    y = x + rng.integers(0, 6, 60)
    np.testing.assert_allclose(average_ranks(x), rankdata(x))
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert np.isnan(spearman(np.ones(5), np.arange(5.0)))
