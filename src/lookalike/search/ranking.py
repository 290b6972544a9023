"""How a collection orders what it finds: plain functions over arrays.

* :func:`nearest_unique`: the index's k-NN answers for the query's 8 codes, each image once
  at its smallest distance.
* :func:`word_postings`, :func:`word_scores`, :func:`top_scored`: the visual-word candidates,
  the images whose ORB word sets have the largest IDF-weighted cosine with the query's.
* :func:`verify_order`: which undecided candidates ORB verifies first.
* :func:`rank_hits`: the final order of the hits.
* :func:`merge_ranked`: video hits (a frame or a video matched) among the ranked image hits.

Every order is total: ties fall back to the smaller id, so the same collection and query
always give the same list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lookalike.methods.words import idf

__all__ = [
    "VERDICT_TIERS",
    "WordPostings",
    "merge_ranked",
    "nearest_unique",
    "rank_hits",
    "top_scored",
    "verify_order",
    "word_postings",
    "word_scores",
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


@dataclass(frozen=True)
class WordPostings:
    """An inverted index of packed word sets: for each word, the images that hold it.

    ``images[indptr[w]:indptr[w + 1]]`` are the rows holding word ``w``; ``idf2`` is each
    word's squared IDF over these images and ``norms`` each image's weighted norm. About 4
    bytes per (image, word): a query reads only its own words' lists, so it costs the
    postings it touches, not a scan of every image's 16,384 bits.
    """

    indptr: np.ndarray
    images: np.ndarray
    idf2: np.ndarray
    norms: np.ndarray

    def __len__(self) -> int:
        return len(self.norms)


def word_postings(codes: np.ndarray) -> WordPostings:
    """The :class:`WordPostings` of packed word sets ``codes`` (``(n, w)`` uint8, one image
    a row)."""
    codes = np.asarray(codes, np.uint8)
    n_words = codes.shape[1] * 8
    img_parts, word_parts = [], []
    for start in range(0, len(codes), _CHUNK):
        r, w = np.nonzero(np.unpackbits(codes[start : start + _CHUNK], axis=1))
        img_parts.append((r + start).astype(np.int32))
        word_parts.append(w.astype(np.int32))
    images = np.concatenate(img_parts) if img_parts else np.zeros(0, np.int32)
    words = np.concatenate(word_parts) if word_parts else np.zeros(0, np.int32)
    order = np.argsort(words, kind="stable")  # by word, each list in image order
    images, words = images[order], words[order]
    df = np.bincount(words, minlength=n_words)
    indptr = np.zeros(n_words + 1, np.int64)
    np.cumsum(df, out=indptr[1:])
    idf2 = idf(df, len(codes)) ** 2
    norms = np.sqrt(np.bincount(images, weights=idf2[words], minlength=len(codes)))
    return WordPostings(indptr, images, idf2, norms)


def word_scores(query_code: np.ndarray, postings: WordPostings) -> np.ndarray:
    """The IDF-weighted cosine of the query's word set with each image of ``postings``;
    an empty set scores 0."""
    words = np.flatnonzero(np.unpackbits(np.asarray(query_code, np.uint8)))
    n = len(postings)
    if len(words) == 0 or n == 0:
        return np.zeros(n)
    starts, stops = postings.indptr[words], postings.indptr[words + 1]
    counts = stops - starts
    # positions of every posting of the query's words, without a Python loop
    offsets = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts)
    hits = postings.images[np.arange(int(counts.sum())) + offsets]
    weights = np.repeat(postings.idf2[words], counts)
    dot = np.bincount(hits, weights=weights, minlength=n)
    qnorm = np.sqrt(postings.idf2[words].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        score = dot / (postings.norms * qnorm)
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
