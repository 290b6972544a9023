"""The non-learned seal verifier: red ink, keypoint alignment, overlap of the ink.

1. Each image's red ink is cut out and scaled to :data:`SIZE` pixels square
   (:func:`lookalike.seals.ink.ink_crop`), which removes most of the shift and scale.
2. B is aligned to A by ORB keypoints matched with Lowe's ratio test and a similarity
   transform fitted by RANSAC (``cv2.estimateAffinePartial2D``). Too few keypoints, or a
   transform that scales by more than 60 %, and a moment alignment (centroids, then the
   rotation in ±20° that correlates best) is used; of the two, the one whose ink overlaps
   more is kept.
3. The score is the symmetric tolerant overlap of the two ink masks: the share of each
   mask's ink that falls on the other's ink dilated by :data:`TOLERANCE` pixels.

The score is in [0, 1]; :data:`THRESHOLD` is its equal-error-rate threshold on generated
validation seals (``python -m lookalike.seals.train --calibrate-only``, see docs/seals.md).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from lookalike.seals.ink import ink_crop

#: Side of the square the ink is compared at (pixels).
SIZE = 256
#: Ink of one mask within this many pixels of the other's counts as overlapping.
TOLERANCE = 2
#: Fewest RANSAC inliers for the keypoint alignment to be tried.
MIN_INLIERS = 8
#: Decision threshold: the EER threshold of this score on the generated validation seals
#: (seeds 500000-500199, see lookalike.seals.train.calibrate); same seal at or above.
THRESHOLD = 0.7866

_ORB = cv2.ORB_create(  # type: ignore[attr-defined]
    nfeatures=600, scaleFactor=1.2, nlevels=6, edgeThreshold=15, patchSize=15
)
_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * TOLERANCE + 1, 2 * TOLERANCE + 1))


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric tolerant overlap of two bool masks, in [0, 1]."""
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return 0.0
    a8, b8 = a.astype(np.uint8), b.astype(np.uint8)
    near_a = cv2.dilate(a8, _KERNEL).astype(bool)
    near_b = cv2.dilate(b8, _KERNEL).astype(bool)
    return float((a & near_b).sum() + (b & near_a).sum()) / total


def _keypoint_transform(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The 2x3 similarity mapping b onto a from ORB matches, or None."""
    ka, da = _ORB.detectAndCompute(a, None)
    kb, db = _ORB.detectAndCompute(b, None)
    if da is None or db is None or len(ka) < MIN_INLIERS or len(kb) < MIN_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(db, da, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    src = np.array([kb[m.queryIdx].pt for m in good], np.float32)
    dst = np.array([ka[m.trainIdx].pt for m in good], np.float32)
    t, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=4.0, maxIters=2000
    )
    if t is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
        return None
    scale = float(np.hypot(t[0, 0], t[1, 0]))
    return t if 0.6 < scale < 1.6 else None


def _moment_transform(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Centroids matched, then the rotation in ±20° (1° steps) that correlates best."""
    ma, mb = cv2.moments(a), cv2.moments(b)
    if ma["m00"] <= 0 or mb["m00"] <= 0:
        return np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    ca = (ma["m10"] / ma["m00"], ma["m01"] / ma["m00"])
    cb = (mb["m10"] / mb["m00"], mb["m01"] / mb["m00"])
    small = 64 / a.shape[0]
    sa = cv2.resize(a, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    sb = cv2.resize(b, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    best, best_t = -np.inf, None
    for angle in range(-20, 21):
        t = cv2.getRotationMatrix2D(cb, angle, 1.0)
        t[:, 2] += np.array(ca) - np.array(cb)
        ts = t.copy()
        ts[:, 2] *= small
        warped = cv2.warpAffine(sb, ts, (64, 64))
        score = float((warped * sa).sum())
        if score > best:
            best, best_t = score, t
    assert best_t is not None
    return best_t


def score_arrays(a: np.ndarray, b: np.ndarray) -> float:
    """The overlap score of two ink maps from :func:`~lookalike.seals.ink.ink_crop`."""
    a8 = (a * 255).astype(np.uint8)
    b8 = (b * 255).astype(np.uint8)
    ma = a > 0.5
    best = 0.0
    for t in (_keypoint_transform(a8, b8), _moment_transform(a8, b8)):
        if t is None:
            continue
        warped = cv2.warpAffine(b, t, (SIZE, SIZE), flags=cv2.INTER_LINEAR) > 0.5
        best = max(best, _overlap(ma, warped))
    return best


def score(a: Image.Image, b: Image.Image) -> float:
    """How well the ink of seal impression ``b`` overlaps that of ``a`` once aligned,
    in [0, 1]; at or above :data:`THRESHOLD`: the same seal."""
    return score_arrays(ink_crop(a, SIZE), ink_crop(b, SIZE))
