"""Equal error rate (EER) of a verifier's scores, and its threshold.

A verifier says "same seal" when its score is at or above a threshold. The false
acceptance rate (FAR) is the share of different pairs at or above it, the false rejection
rate (FRR) the share of same pairs below it; the EER is where the two meet. Thresholds
are tried at every distinct score, and the EER is the mean of FAR and FRR where their
difference is smallest (the usual discrete estimate).
"""

from __future__ import annotations

import numpy as np

from lookalike.errors import UsageError


def far_frr(scores: np.ndarray, same: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FAR, FRR) of deciding "same" at ``score >= threshold``."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(same, bool)
    accept = s >= threshold
    return float(accept[~y].mean()), float((~accept[y]).mean())


def equal_error_rate(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(EER, threshold): the error rate where FAR = FRR and the threshold giving it."""
    s = np.asarray(scores, np.float64).ravel()
    y = np.asarray(same, bool).ravel()
    if s.shape != y.shape or y.all() or not y.any():
        raise UsageError("EER needs scores of both same and different pairs, one per label")
    thresholds = np.unique(s)
    accept = s[None, :] >= thresholds[:, None]
    far = accept[:, ~y].mean(axis=1)
    frr = (~accept[:, y]).mean(axis=1)
    i = int(np.argmin(np.abs(far - frr)))
    # place the threshold halfway to the next lower score, so that it is not on a sample
    below = thresholds[i - 1] if i > 0 else thresholds[i]
    return float((far[i] + frr[i]) / 2), float((thresholds[i] + below) / 2 if i else thresholds[i])
