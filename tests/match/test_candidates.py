"""Candidate generators against brute-force oracles: exact without a cap, connected with one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lookalike.match.candidates import _bag, _normalise, dihedral_pairs, hash_pairs, word_pairs
from lookalike.match.grouping import FileFacts, group_pairs
from lookalike.store.hamming import radius_pairs

RADIUS = 10
K = 4


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Hamming distances of packed uint8 rows."""
    return np.bitwise_count(a[:, None, :] ^ b[None, :, :]).sum(axis=2)


def _clustered(n: int, seed: int, nbytes: int = 8) -> np.ndarray:
    """Codes in a few tight clusters (more members than K), some exact repeats, some noise."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, (6, nbytes), dtype=np.uint8)
    rows = centres[rng.integers(0, len(centres), n)]
    rows ^= np.packbits(rng.random((n, nbytes * 8)) < 0.05, axis=1)
    rows[: n // 5] = rows[0]  # a block of identical codes
    rows[n // 5 : n // 5 + 10] = rows[n // 5]
    rows[-n // 10 :] = rng.integers(0, 256, (n // 10, nbytes), dtype=np.uint8)
    return rng.permutation(rows)


def _brute_pairs(codes: np.ndarray, radius: int) -> set[tuple[int, int]]:
    d = _dist(codes, codes)
    i, j = np.nonzero((d <= radius) & np.triu(np.ones_like(d, bool), 1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def _brute_dihedral(codes8: np.ndarray, radius: int) -> dict[tuple[int, int], int]:
    n = len(codes8)
    d = np.min([_dist(codes8[:, k, :], codes8[:, 0, :]) for k in range(1, 8)], axis=0)
    d = np.minimum(d, d.T)  # a rotated code of either image against the other's plain code
    i, j = np.nonzero((d <= radius) & np.triu(np.ones((n, n), bool), 1))
    return {(a, b): int(d[a, b]) for a, b in zip(i.tolist(), j.tolist(), strict=True)}


def _connected(n: int, i: np.ndarray, j: np.ndarray, pairs) -> bool:
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    a = np.array([p[0] for p in pairs], np.int64)
    b = np.array([p[1] for p in pairs], np.int64)
    return bool((label[a] == label[b]).all())


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """The first row holding each row's code."""
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    return first[inverse.reshape(-1)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hash_pairs_without_cap_is_brute_force(seed: int) -> None:
    codes = _clustered(400, seed)
    i, j, d = hash_pairs(codes, RADIUS, max_neighbours=None)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == _brute_pairs(codes, RADIUS)
    np.testing.assert_array_equal(d, _dist(codes, codes)[i, j])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hash_pairs_capped_keeps_close_pairs_connected(seed: int) -> None:
    codes = _clustered(400, seed)
    n = len(codes)
    brute = _brute_pairs(codes, RADIUS)
    i, j, d = hash_pairs(codes, RADIUS, max_neighbours=K)
    got = set(zip(i.tolist(), j.tolist(), strict=True))
    assert got <= brute and (i < j).all()
    np.testing.assert_array_equal(d, _dist(codes, codes)[i, j])
    assert _connected(n, i, j, brute)
    # a repeated code has one pair: to the first row of its code (the star)
    first = _first_rows(codes)
    repeat = first != np.arange(n)
    degree = np.bincount(np.concatenate([i, j]), minlength=n)
    assert (degree[repeat] == 1).all()
    assert {(int(first[r]), int(r)) for r in np.flatnonzero(repeat)} <= got
    # distinct codes: each keeps its K nearest (ties to the lower row) plus one forest link
    heads = np.flatnonzero(~repeat)
    dh = _dist(codes[heads], codes[heads])
    np.fill_diagonal(dh, RADIUS + 1)
    for r, row in enumerate(dh):
        close = np.flatnonzero(row <= RADIUS)
        nearest = close[np.lexsort((heads[close], row[close]))][:K]
        for c in nearest:
            a, b = sorted((int(heads[r]), int(heads[c])))
            assert (a, b) in got
    between = int((~repeat[i] & ~repeat[j]).sum())
    assert between <= len(heads) * K + len(heads) - 1


def test_hash_pairs_capped_between_two_clusters_larger_than_k() -> None:
    # two tight clusters 8 bits apart: every code's K nearest stay in its own cluster, the
    # spanning forest still links the two
    rng = np.random.default_rng(5)
    a = np.zeros((30, 8), np.uint8)
    a[:, 7] = 1 << rng.integers(0, 8, 30)
    b = a.copy()
    b[:, 0] = 0xFF
    codes = np.concatenate([a, b])
    brute = _brute_pairs(codes, RADIUS)
    i, j, _ = hash_pairs(codes, RADIUS, max_neighbours=K)
    assert _connected(len(codes), i, j, brute)
    assert len(i) < len(brute) / 4


@pytest.mark.parametrize("seed", [0, 1])
def test_dihedral_pairs_exact_and_capped(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    plain = _clustered(n, seed)
    codes8 = np.repeat(plain[:, None, :], 8, axis=1)
    codes8 ^= np.packbits(rng.random((n, 8, 64)) < 0.2, axis=2)  # rotations differ
    codes8[:, 0, :] = plain
    # some images are rotated copies of others: their plain code is another's rotated code
    codes8[-20:, 0, :] = codes8[:20, 3, :]
    oracle = _brute_dihedral(codes8, RADIUS)
    i, j, d = dihedral_pairs(codes8, RADIUS, max_neighbours=None)
    assert dict(zip(zip(i.tolist(), j.tolist(), strict=True), d.tolist(), strict=True)) == oracle
    i, j, d = dihedral_pairs(codes8, RADIUS, max_neighbours=K)
    assert (i < j).all() and _connected(n, i, j, oracle)
    full = np.min([_dist(codes8[:, k, :], codes8[:, 0, :]) for k in range(1, 8)], axis=0)
    np.testing.assert_array_equal(d, np.minimum(full, full.T)[i, j])
    assert len(i) <= n * (7 * (K + 1) + 7 + 1)


@pytest.mark.parametrize("dense", [True, False])
def test_word_pairs_are_the_top_k_by_cosine(dense: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both products (dense float32 BLAS while the matrix is small, sparse beyond) give
    the brute-force top k."""
    import lookalike.match.candidates as candidates

    if not dense:
        monkeypatch.setattr(candidates, "DENSE_WORD_BYTES", 0)
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (40, 60, 32), dtype=np.uint8)
    descriptors = [
        base[k % 40] ^ (rng.random((60, 32)) < 0.02).astype(np.uint8) for k in range(120)
    ]
    k, min_score = 3, 0.02
    i, j, s = word_pairs(descriptors, top_k=k, min_score=min_score, block=50)
    counts = _bag(descriptors)
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    x = _normalise(counts, np.log((121) / (df + 1)) + 1.0).toarray()
    sim = x @ x.T
    np.fill_diagonal(sim, -1.0)
    want = set()
    for r, row in enumerate(sim):
        for c in np.argsort(-row, kind="stable")[:k]:
            if row[c] >= min_score:
                want.add((min(r, int(c)), max(r, int(c))))
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == want
    np.testing.assert_allclose(s, sim[i, j], rtol=1e-12 if not dense else 1e-5)


def test_skewed_codes_give_linear_pairs() -> None:
    # 5,000 identical codes (blank scans), 20 bursts of 200 near-identical codes, 1,000 others
    rng = np.random.default_rng(7)
    blank = np.zeros((5000, 8), np.uint8)
    centres = rng.integers(0, 256, (20, 8), dtype=np.uint8)
    bursts = np.repeat(centres, 200, axis=0)
    bursts ^= np.packbits(rng.random((len(bursts), 64)) < 0.04, axis=1)
    codes = np.concatenate([blank, bursts, rng.integers(0, 256, (1000, 8), dtype=np.uint8)])
    codes = codes[rng.permutation(len(codes))]
    n = len(codes)
    i, j, _ = hash_pairs(codes, 14, max_neighbours=32)
    assert len(i) <= 34 * n  # O(n): the exact join has ~12.9 million pairs here
    # every exact pair stays connected: identical rows via their star, distinct codes via
    # the exact join over the distinct codes
    first = _first_rows(codes)
    heads = np.flatnonzero(first == np.arange(n))
    ei, ej, _ = radius_pairs(codes[heads], 14)
    pairs = list(zip(heads[ei].tolist(), heads[ej].tolist(), strict=True))
    pairs += [(int(f), int(r)) for r, f in enumerate(first) if f != r]
    assert _connected(n, i, j, pairs)


def test_a_star_of_identical_copies_is_one_group_whatever_the_keeper() -> None:
    # copies linked to the first file only (as byte identity and the capped candidates do);
    # the keeper rule prefers the last copy (oldest), which is not the centre of the star
    n = 50
    paths = [f"scan_{k:03d}.png" for k in range(n)]
    facts = [FileFacts(100, 100, 2000, mtime=float(n - k)) for k in range(n)]
    i, j = np.zeros(n - 1, np.int64), np.arange(1, n)
    groups = group_pairs(
        paths, i, j, np.ones(n - 1), ["bytes"] * (n - 1), facts, ["identical"] * (n - 1)
    )
    assert len(groups) == 1 and len(groups[0].members) == n
    assert groups[0].keep == paths[-1]
    # a similar (not identical) photo linked to one copy joins the same group
    paths2 = [*paths, "photo.jpg"]
    facts2 = [*facts, FileFacts(50, 50, 100)]
    i2, j2 = np.append(i, 3), np.append(j, n)
    groups = group_pairs(
        paths2,
        i2,
        j2,
        np.append(np.ones(n - 1), 0.9),
        ["bytes"] * (n - 1) + ["phash8"],
        facts2,
        ["identical"] * (n - 1) + ["similar"],
    )
    assert len(groups) == 1 and len(groups[0].members) == n + 1
    photo = next(m for m in groups[0].members if m.path == "photo.jpg")
    assert photo.method == "phash8" and photo.similarity == 0.9
