"""How a collection orders what it finds: plain functions over arrays.

* :func:`nearest_unique`: the index's k-NN answers for the query's 8 codes, each image once
  at its smallest distance.
* :func:`word_weights`, :func:`word_scores`, :func:`top_scored`: the visual-word candidates,
  the images whose ORB word sets have the largest IDF-weighted cosine with the query's.
* :func:`verify_order`: which undecided candidates ORB verifies first.
* :func:`rank_hits`: the final order of the hits.
* :func:`merge_ranked`: video hits (a frame or a video matched) among the ranked image hits.

Every order is total: ties fall back to the smaller id, so the same collection and query
always give the same list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lookalike.methods.words import idf

__all__ = [
    "VERDICT_TIERS",
    "merge_ranked",
    "nearest_unique",
    "rank_hits",
    "top_scored",
    "verify_order",
    "word_scores",
    "word_weights",
]

#: Rank of each verdict (lower first); exact duplicates come before all of them.
VERDICT_TIERS = {"identical": 2, "similar": 3, "different": 4}
_CHUNK = 4096  # rows unpacked at a time


def nearest_unique(
    ids: np.ndarray, distances: np.ndarray, limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each id once at its smallest distance, nearest first (ties: smaller id), at most
    ``limit``; negative ids (the index's "no hit") are dropped."""
    flat_i = np.asarray(ids, dtype=np.int64).ravel()
    flat_d = np.asarray(distances).ravel()
    ok = flat_i >= 0
    flat_i, flat_d = flat_i[ok], flat_d[ok]
    order = np.lexsort((flat_i, flat_d))
    flat_i, flat_d = flat_i[order], flat_d[order]
    _, first = np.unique(flat_i, return_index=True)
    first = np.sort(first)[:limit]
    return flat_i[first], flat_d[first]


def word_weights(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(idf2, norms)`` of packed word sets ``codes`` (``(n, w)`` uint8, one image a row):
    the squared IDF of each word over these images, and each image's weighted norm."""
    codes = np.asarray(codes, np.uint8)
    df = np.zeros(codes.shape[1] * 8, np.int64)
    for start in range(0, len(codes), _CHUNK):
        df += np.unpackbits(codes[start : start + _CHUNK], axis=1).sum(axis=0, dtype=np.int64)
    idf2 = idf(df, len(codes)) ** 2
    norms = np.empty(len(codes))
    for start in range(0, len(codes), _CHUNK):
        bits = np.unpackbits(codes[start : start + _CHUNK], axis=1)
        norms[start : start + _CHUNK] = np.sqrt(bits @ idf2)
    return idf2, norms


def word_scores(
    query_code: np.ndarray, codes: np.ndarray, idf2: np.ndarray, norms: np.ndarray
) -> np.ndarray:
    """The IDF-weighted cosine of the query's word set with each row of ``codes``.

    ``idf2`` and ``norms`` come from :func:`word_weights`; an empty set scores 0.
    """
    words = np.flatnonzero(np.unpackbits(np.asarray(query_code, np.uint8)))
    if len(words) == 0 or len(codes) == 0:
        return np.zeros(len(codes))
    present = (codes[:, words // 8] >> (7 - words % 8).astype(np.uint8)) & 1
    qnorm = np.sqrt(idf2[words].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (present @ idf2[words]) / (norms * qnorm)
    score[~np.isfinite(score)] = 0.0
    return score


def top_scored(ids: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` ids of highest score, best first (ties: smaller id); ids scoring 0 or less
    are left out (they share nothing with the query)."""
    ids = np.asarray(ids, dtype=np.int64)
    scores = np.asarray(scores, dtype=float)
    keep = scores > 0
    ids, scores = ids[keep], scores[keep]
    return ids[np.lexsort((ids, -scores))[:n]]


def verify_order(
    ids: np.ndarray, priority: np.ndarray, cue: np.ndarray, distance: np.ndarray, limit: int
) -> np.ndarray:
    """Which undecided candidates ORB verifies, first first (indices into ``ids``).

    The visual-word candidates (``priority``) first, then the nearest by colour (``cue``:
    the colour similarity, higher first; a crop or a pasted copy keeps its words and
    colours better than its pHash), then the pHash distance, then the smaller id.
    """
    ids = np.asarray(ids, dtype=np.int64)
    not_first = ~np.asarray(priority, dtype=bool)
    order = np.lexsort((ids, np.asarray(distance), -np.asarray(cue, dtype=float), not_first))
    return order[:limit]


def rank_hits(
    ids: np.ndarray,
    verdicts: Sequence[str],
    similarity: np.ndarray,
    distance: np.ndarray,
    same_bytes: np.ndarray,
    same_codes: np.ndarray,
) -> np.ndarray:
    """The order of the hits, best first (indices into ``ids``).

    Exact duplicates of the query first: identical bytes, then identical codes (distance 0
    on every stored code compared: the same pixels); then the verdicts identical, similar
    (each by similarity, higher first), different; within a tier the pHash ``distance``,
    then the smaller id, break ties. Different hits are not ordered by their similarity
    (it may come from a method that did not decide) but by distance.
    """
    ids = np.asarray(ids, dtype=np.int64)
    tier = hit_tiers(verdicts, same_bytes, same_codes)
    sim = np.where(tier < VERDICT_TIERS["different"], -np.asarray(similarity, dtype=float), 0.0)
    return np.lexsort((ids, np.asarray(distance, dtype=float), sim, tier))


def hit_tiers(
    verdicts: Sequence[str], same_bytes: np.ndarray, same_codes: np.ndarray
) -> np.ndarray:
    """Each hit's tier: 0 the same bytes, 1 the same codes, then :data:`VERDICT_TIERS`."""
    tier = np.array([VERDICT_TIERS.get(v, 4) for v in verdicts], dtype=np.int64)
    tier = np.where(np.asarray(same_codes, dtype=bool), 1, tier)
    return np.where(np.asarray(same_bytes, dtype=bool), 0, tier)


def merge_ranked(
    tiers: np.ndarray, similarity: np.ndarray, video_tiers: np.ndarray, video_similarity: np.ndarray
) -> list[tuple[bool, int]]:
    """Ranked image hits and video hits as one list of ``(is_video, index)``, best first.

    Both lists come in their own order; they are merged by tier, then similarity (higher
    first; the different tier keeps its own order), an image before a video on a tie, so
    a collection without videos ranks exactly as before.
    """
    keys: list[tuple[int, float, int, int, bool]] = []
    for video, ts, ss in ((False, tiers, similarity), (True, video_tiers, video_similarity)):
        for i, (t, s) in enumerate(
            zip(np.asarray(ts).tolist(), np.asarray(ss).tolist(), strict=True)
        ):
            sim = -float(s) if t < VERDICT_TIERS["different"] else 0.0
            keys.append((int(t), sim, int(video), i, video))
    keys.sort()
    return [(k[4], k[3]) for k in keys]
