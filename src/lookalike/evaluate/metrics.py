"""Accuracy metrics for copy detection, vectorized with numpy.

* :func:`micro_ap` -- micro average precision (µAP) as defined for the DISC21 benchmark
  (Douze et al., "The 2021 Image Similarity Dataset and Challenge", arXiv:2106.09672,
  section 4.1): every (query, reference, score) prediction of every query is pooled and
  sorted by decreasing score; µAP = sum over ranks i of p(i) * Δr(i), where p(i) is the
  precision of the first i predictions and Δr(i) the recall gained at rank i, recall being
  counted against *all* ground-truth pairs (those never predicted count as missed).
  Equal scores are ordered negatives first, as the DISC21 evaluation code does, so that
  ties cannot inflate the figure; a perfect ranking gives exactly 1.
* :func:`recall_at_precision` -- the best recall at a threshold whose precision is at
  least ``p`` (DISC21 reports it at p = 0.9; copy detection needs 0.99), and that
  threshold. Thresholds are only placed between distinct scores (a threshold cannot split
  a tie).
* :func:`roc_auc` -- the area under the ROC curve by the Mann-Whitney U statistic with
  average ranks for ties (Hanley & McNeil, Radiology 143(1), 1982); equals
  ``sklearn.metrics.roc_auc_score``.
* :func:`spearman` -- Spearman's rank correlation: Pearson's r of the average ranks
  (ties averaged), as ``scipy.stats.spearmanr``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookalike.errors import UsageError


def _ranked(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels sorted by decreasing score, negatives first among equal scores."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=bool).ravel()
    if s.shape != y.shape:
        raise UsageError(f"scores and labels differ in length: {s.shape} vs {y.shape}")
    if np.isnan(s).any():
        raise UsageError("scores contain NaN; leave unscored pairs out of the predictions")
    order = np.lexsort((y, -s))  # primary: score descending; then False before True
    return s[order], y[order]


def precision_recall(
    scores: np.ndarray, labels: np.ndarray, n_positives: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall after each rank of the pooled, sorted predictions, and the
    score at that rank. ``n_positives``: the ground-truth pairs (default: positive labels)."""
    s, y = _ranked(scores, labels)
    n_pos = int(y.sum()) if n_positives is None else int(n_positives)
    if n_pos < y.sum():
        raise UsageError("n_positives is smaller than the positive predictions")
    tp = np.cumsum(y)
    precision = tp / np.arange(1, len(y) + 1)
    recall = tp / n_pos if n_pos else np.zeros(len(y))
    return precision, recall, s


def micro_ap(scores: np.ndarray, labels: np.ndarray, n_positives: int | None = None) -> float:
    """µAP of pooled predictions (DISC21). ``labels[i]``: prediction ``i`` is a ground-truth
    pair; ``n_positives``: all ground-truth pairs, predicted or not (default: the positive
    labels). 0 when there is nothing to find."""
    _, y = _ranked(scores, labels)
    n_pos = int(y.sum()) if n_positives is None else int(n_positives)
    if n_pos < y.sum():
        raise UsageError("n_positives is smaller than the positive predictions")
    if n_pos == 0:
        return 0.0
    precision = np.cumsum(y)[y] / (np.flatnonzero(y) + 1.0)
    return float(precision.sum() / n_pos)


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold (predict "copy" when score >= threshold) and what it achieves."""

    threshold: float | None
    precision: float
    recall: float


def recall_at_precision(
    scores: np.ndarray, labels: np.ndarray, precision: float = 0.99, n_positives: int | None = None
) -> OperatingPoint:
    """The highest recall whose precision is >= ``precision``, and its (lowest) threshold.

    Candidate thresholds are the distinct scores; at each, every prediction scoring at least
    as much is called positive. ``threshold`` is None when no threshold reaches the
    precision (recall 0).
    """
    p, r, s = precision_recall(scores, labels, n_positives)
    if len(s) == 0:
        return OperatingPoint(None, 1.0, 0.0)
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last rank of each tie group
    ok = ends[p[ends] >= precision]
    if len(ok) == 0:
        return OperatingPoint(None, 1.0, 0.0)
    best = ok[np.argmax(r[ok])]
    best = ok[r[ok] == r[best]].max()  # the lowest threshold with that recall
    return OperatingPoint(float(s[best]), float(p[best]), float(r[best]))


def recall_at_threshold(
    scores: np.ndarray, labels: np.ndarray, threshold: float | None, n_positives: int | None = None
) -> OperatingPoint:
    """Precision and recall when every prediction scoring >= ``threshold`` is called a copy."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=bool).ravel()
    n_pos = int(y.sum()) if n_positives is None else int(n_positives)
    if threshold is None:
        return OperatingPoint(None, 1.0, 0.0)
    hit = s >= threshold
    tp = int((hit & y).sum())
    n_hit = int(hit.sum())
    return OperatingPoint(
        float(threshold), tp / n_hit if n_hit else 1.0, tp / n_pos if n_pos else 0.0
    )


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``, ties given the mean of the ranks they span."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if np.isnan(x).any():
        raise UsageError("cannot rank NaN")
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    stops = np.r_[starts[1:], len(x)]
    group = np.cumsum(np.r_[True, xs[1:] != xs[:-1]]) - 1
    ranks = np.empty(len(x))
    ranks[order] = ((starts + stops + 1) / 2.0)[group]
    return ranks


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half); NaN without both classes."""
    y = np.asarray(labels, dtype=bool).ravel()
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = average_ranks(scores)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (ties averaged); NaN when either side is constant."""
    rx, ry = average_ranks(x), average_ranks(y)
    if len(rx) != len(ry):
        raise UsageError("x and y differ in length")
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / den) if den > 0 else float("nan")
