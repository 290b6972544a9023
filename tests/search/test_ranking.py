"""The collection's ranking functions against brute-force and hand-made oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lookalike.search.ranking import (
    nearest_unique,
    rank_hits,
    top_scored,
    verify_order,
    word_postings,
    word_scores,
)

SEEDS = range(5)


@pytest.mark.parametrize("seed", SEEDS)
def test_nearest_unique_keeps_each_id_at_its_smallest_distance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.integers(-1, 30, size=(8, 12))
    dist = rng.integers(0, 20, size=(8, 12))
    best: dict[int, int] = {}
    for i, d in zip(ids.ravel().tolist(), dist.ravel().tolist(), strict=True):
        if i >= 0:
            best[i] = min(d, best.get(i, d))
    oracle = sorted(best.items(), key=lambda t: (t[1], t[0]))[:10]
    got_i, got_d = nearest_unique(ids, dist, 10)
    assert list(zip(got_i.tolist(), got_d.tolist(), strict=True)) == oracle


def _bits(codes: np.ndarray) -> list[set[int]]:
    return [set(np.flatnonzero(np.unpackbits(row)).tolist()) for row in codes]


@pytest.mark.parametrize("seed", SEEDS)
def test_word_scores_are_the_idf_weighted_cosine(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, width = 40, 16  # 128 words
    codes = np.packbits(rng.random((n, width * 8)) < 0.15, axis=1)
    codes[3] = 0  # an image without words scores 0
    query = np.packbits(rng.random(width * 8) < 0.2)
    sets = _bits(codes)
    df = {w: sum(w in s for s in sets) for w in range(width * 8)}
    weight = {w: (math.log((n + 1) / (df[w] + 1)) + 1) ** 2 for w in df}
    q = _bits(query[None])[0]
    qn = math.sqrt(sum(weight[w] for w in q))
    oracle = [
        sum(weight[w] for w in q & s) / (math.sqrt(sum(weight[w] for w in s)) * qn) if s else 0.0
        for s in sets
    ]
    postings = word_postings(codes)
    got = word_scores(query, postings)
    np.testing.assert_allclose(got, oracle, rtol=1e-12, atol=1e-12)
    assert got[3] == 0.0
    assert not word_scores(np.zeros(width, np.uint8), postings).any()


def test_top_scored_breaks_ties_by_the_smaller_id() -> None:
    ids = np.array([50, 7, 9, 3, 12, 8])
    scores = np.array([0.5, 0.9, 0.5, 0.0, 0.9, 0.5])
    assert top_scored(ids, scores, 4).tolist() == [7, 12, 8, 9]
    assert top_scored(ids, scores, 10).tolist() == [7, 12, 8, 9, 50]  # 0 shares no word


@pytest.mark.parametrize("seed", SEEDS)
def test_top_scored_matches_a_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.permutation(1000)[:60]
    scores = rng.integers(0, 5, 60) / 4  # many ties
    oracle = [i for s, i in sorted(zip(-scores, ids, strict=True)) if s < 0][:8]
    assert top_scored(ids, scores, 8).tolist() == oracle


@pytest.mark.parametrize("seed", SEEDS)
def test_verify_order_puts_word_candidates_then_colour_first(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.permutation(500)[:40]
    priority = rng.random(40) < 0.2
    cue = rng.integers(0, 4, 40) / 3
    dist = rng.integers(0, 6, 40)
    oracle = sorted(range(40), key=lambda j: (not priority[j], -cue[j], dist[j], ids[j]))
    assert verify_order(ids, priority, cue, dist, 16).tolist() == oracle[:16]


def test_rank_hits_by_hand() -> None:
    ids = np.array([1, 2, 3, 4, 5, 6, 7])
    verdicts = [
        "different",
        "similar",
        "identical",
        "identical",
        "similar",
        "different",
        "identical",
    ]
    sim = np.array([0.99, 0.95, 1.0, 1.0, 0.97, 0.5, 0.98])
    dist = np.array([3, 4, 0, 0, 4, 1, 2])
    same_bytes = np.array([0, 0, 0, 1, 0, 0, 0], bool)
    same_codes = np.array([0, 0, 1, 1, 0, 0, 0], bool)
    # 4: the same bytes; 3: the same codes; 7: identical; 5, 2: similar by similarity;
    # 6, 1: different by distance (not by their similarity)
    order = rank_hits(ids, verdicts, sim, dist, same_bytes, same_codes)
    assert ids[order].tolist() == [4, 3, 7, 5, 2, 6, 1]


def test_rank_hits_puts_the_exact_copy_before_an_equal_scoring_smaller_id() -> None:
    # a greyscale copy (id 1) and the file itself (id 2): both identical at similarity 1.0
    # and pHash distance 0; only the copy of every code (or of the bytes) tells them apart
    ids = np.array([1, 2])
    for same_bytes, same_codes in (([0, 1], [0, 1]), ([0, 1], [0, 0]), ([0, 0], [0, 1])):
        order = rank_hits(
            ids,
            ["identical", "identical"],
            np.array([1.0, 1.0]),
            np.array([0, 0]),
            np.array(same_bytes, bool),
            np.array(same_codes, bool),
        )
        assert ids[order].tolist() == [2, 1]


@pytest.mark.parametrize("seed", SEEDS)
def test_rank_hits_matches_a_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 50
    ids = rng.permutation(10_000)[:n]
    verdicts = rng.choice(["identical", "similar", "different"], n).tolist()
    sim = rng.integers(0, 4, n) / 4
    dist = rng.integers(0, 4, n)
    same_bytes = rng.random(n) < 0.05
    same_codes = rng.random(n) < 0.1
    tier = {"identical": 2, "similar": 3, "different": 4}

    def key(j: int) -> tuple[float, ...]:
        t = 0 if same_bytes[j] else 1 if same_codes[j] else tier[verdicts[j]]
        return (t, -sim[j] if t < 4 else 0.0, dist[j], ids[j])

    oracle = sorted(range(n), key=key)
    assert rank_hits(ids, verdicts, sim, dist, same_bytes, same_codes).tolist() == oracle
