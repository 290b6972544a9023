"""Exactness of the Hamming search against brute force, on both backends."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from lookalike.errors import CollectionError
from lookalike.store import hamming as H
from lookalike.store.hamming import (
    HammingIndex,
    codes_to_uint8,
    knn,
    radius_pairs,
    radius_search,
)

HAS_FAISS = importlib.util.find_spec("faiss") is not None
BACKENDS = [
    pytest.param(True, id="faiss", marks=pytest.mark.skipif(not HAS_FAISS, reason="no faiss")),
    pytest.param(False, id="numpy"),
]


def _dist_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    wa, wb = H._words(codes_to_uint8(a)), H._words(codes_to_uint8(b))
    return np.bitwise_count(wa[:, None, :] ^ wb[None, :, :]).sum(axis=2)


def _brute_pairs(codes: np.ndarray, radius: int):
    d = _dist_matrix(codes, codes)
    n = len(d)
    i, j = np.nonzero((d <= radius) & (np.arange(n)[:, None] < np.arange(n)[None, :]))
    return i, j, d[i, j]


def _planted(n: int, nbytes: int, radius: int, seed: int) -> np.ndarray:
    """Random rows; the second half are copies of the first with ~radius*0.8 bits flipped."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n // 2, nbytes), dtype=np.uint8)
    flips = np.packbits(rng.random((n // 2, nbytes * 8)) < 0.8 * radius / (nbytes * 8), axis=1)
    return np.concatenate([base, base ^ flips])


def _as_u64(u8: np.ndarray) -> np.ndarray:
    return u8.view(">u8").reshape(-1).astype(np.uint64)


def _assert_pairs(got, want) -> None:
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_codes_to_uint8_bit_order() -> None:
    codes = np.array([0x0123456789ABCDEF], dtype=np.uint64)
    np.testing.assert_array_equal(
        codes_to_uint8(codes), [[0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]]
    )
    bits = np.zeros((1, 64), bool)
    bits[0, 0] = True  # the hash's first bit: MSB of byte 0, the top bit of the uint64
    np.testing.assert_array_equal(codes_to_uint8(bits), codes_to_uint8(np.uint64([1 << 63])))
    rows = np.arange(64, dtype=np.uint8).reshape(2, 32)
    assert codes_to_uint8(rows) is not None and codes_to_uint8(rows).shape == (2, 32)
    with pytest.raises(ValueError):
        codes_to_uint8(np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("use_faiss", BACKENDS)
@pytest.mark.parametrize("radius", [0, 3, 10])
def test_radius_pairs_64bit_planted(use_faiss: bool, radius: int) -> None:
    u8 = _planted(2000, 8, max(radius, 1), seed=radius)
    got = radius_pairs(_as_u64(u8), radius, use_faiss=use_faiss)
    _assert_pairs(got, _brute_pairs(u8, radius))
    assert (got[1] > got[0]).all()


@pytest.mark.parametrize("use_faiss", BACKENDS)
def test_radius_pairs_256bit(use_faiss: bool) -> None:
    u8 = _planted(1200, 32, 40, seed=7)
    _assert_pairs(radius_pairs(u8, 40, use_faiss=use_faiss), _brute_pairs(u8, 40))


@pytest.mark.parametrize("use_faiss", BACKENDS)
def test_radius_pairs_dense_clusters(use_faiss: bool) -> None:
    rng = np.random.default_rng(3)
    u8 = _planted(600, 8, 6, seed=3)
    copies = np.repeat(u8[:1], 1000, axis=0)  # 1,000 copies of one image
    near = u8[1:2] ^ np.packbits(rng.random((300, 64)) < 0.03, axis=1)  # a tight cluster
    allc = np.concatenate([copies, u8, near])
    allc = allc[rng.permutation(len(allc))]
    got = radius_pairs(_as_u64(allc), 6, use_faiss=use_faiss)
    want = _brute_pairs(allc, 6)
    _assert_pairs(got, want)
    assert len(got[0]) >= 1001 * 1000 // 2


@pytest.mark.parametrize("use_faiss", BACKENDS)
@pytest.mark.parametrize("nbytes,radius", [(8, 10), (8, 2), (32, 30)])
def test_multi_index_plan_exact(use_faiss: bool, nbytes: int, radius: int) -> None:
    """Force the multi-index path (planned for a large n) on a small brute-forceable set."""
    u8 = _planted(1500, nbytes, radius, seed=nbytes + radius)
    u8[:40] = u8[0]
    backend = "faiss" if use_faiss else "numpy"
    chunks = H._plan(nbytes * 8, radius, 10**6, 10**6, True, backend)
    assert chunks is not None
    assert sum(t + 1 for _, _, t in chunks) >= radius + 1
    faiss = H.faiss_module(use_faiss)
    a, b, d = H._Join(u8, None, radius, faiss, chunks).run()
    order = np.lexsort((b, a))
    _assert_pairs((a[order], b[order], d[order]), _brute_pairs(u8, radius))

    rng = np.random.default_rng(0)
    q = u8[rng.choice(len(u8), 200)] ^ np.packbits(rng.random((200, nbytes * 8)) < 0.05, axis=1)
    a, b, d = H._Join(u8, q, radius, faiss, chunks).run()
    dm = _dist_matrix(q, u8)
    qi, qj = np.nonzero(dm <= radius)
    order = np.lexsort((b, a))
    _assert_pairs((a[order], b[order], d[order]), (qi, qj, dm[qi, qj]))


@pytest.mark.parametrize("use_faiss", BACKENDS)
def test_radius_search_csr(use_faiss: bool) -> None:
    u8 = _planted(1000, 8, 8, seed=11)
    q = u8[::7]
    lims, idx, dist = radius_search(_as_u64(u8), _as_u64(q), 8, use_faiss=use_faiss)
    dm = _dist_matrix(q, u8)
    assert lims[0] == 0 and len(lims) == len(q) + 1
    for r in range(len(q)):
        cand = np.flatnonzero(dm[r] <= 8)
        want = cand[np.lexsort((cand, dm[r, cand]))]
        np.testing.assert_array_equal(idx[lims[r] : lims[r + 1]], want)
        np.testing.assert_array_equal(dist[lims[r] : lims[r + 1]], dm[r, want])


@pytest.mark.parametrize("use_faiss", BACKENDS)
@pytest.mark.parametrize("nbytes", [8, 32])
def test_knn_exact_with_ties(use_faiss: bool, nbytes: int) -> None:
    rng = np.random.default_rng(5)
    base = rng.integers(0, 256, (300, nbytes), dtype=np.uint8)
    u8 = np.concatenate([base, base, base[:50]])  # many exact ties
    q = np.concatenate([base[:20], rng.integers(0, 256, (20, nbytes), dtype=np.uint8)])
    k = 7
    idx, dist = knn(u8, q, k, use_faiss=use_faiss)
    dm = _dist_matrix(q, u8)
    order = np.argsort(dm, axis=1, kind="stable")[:, :k]  # (distance, index)
    np.testing.assert_array_equal(idx, order)
    np.testing.assert_array_equal(dist, np.take_along_axis(dm, order, axis=1))


@pytest.mark.parametrize("use_faiss", BACKENDS)
def test_knn_pads_when_k_exceeds_index(use_faiss: bool) -> None:
    codes = np.array([0, 1, 3], dtype=np.uint64)
    idx, dist = knn(codes, np.array([0], np.uint64), 5, use_faiss=use_faiss)
    np.testing.assert_array_equal(idx, [[0, 1, 2, -1, -1]])
    np.testing.assert_array_equal(dist, [[0, 1, 2, -1, -1]])


@pytest.mark.skipif(not HAS_FAISS, reason="no faiss")
def test_numpy_fallback_equals_faiss() -> None:
    u8 = _planted(3000, 8, 10, seed=21)
    codes = _as_u64(u8)
    _assert_pairs(radius_pairs(codes, 10, use_faiss=True), radius_pairs(codes, 10, use_faiss=False))
    q = codes[::13]
    _assert_pairs(knn(codes, q, 10, use_faiss=True), knn(codes, q, 10, use_faiss=False))
    _assert_pairs(
        radius_search(codes, q, 10, use_faiss=True), radius_search(codes, q, 10, use_faiss=False)
    )


@pytest.mark.parametrize("use_faiss", BACKENDS)
def test_hamming_index_round_trip(use_faiss: bool, tmp_path) -> None:
    rng = np.random.default_rng(9)
    codes = rng.integers(0, 2**63, 500, dtype=np.uint64)
    index = HammingIndex(use_faiss=use_faiss)
    ids = index.add(codes[:300], ids=np.arange(1000, 1300))
    np.testing.assert_array_equal(ids, np.arange(1000, 1300))
    auto = index.add(codes[300:])
    np.testing.assert_array_equal(auto, np.arange(1300, 1500))
    assert len(index) == 500
    with pytest.raises(ValueError):
        index.add(codes[:1], ids=[1000])

    found, dist = index.search(codes[[0, 450]], 1)
    np.testing.assert_array_equal(found[:, 0], [1000, 1450])
    np.testing.assert_array_equal(dist[:, 0], [0, 0])

    assert index.remove([1000, 1450, 99]) == 2
    assert len(index) == 498
    found, _ = index.search(codes[[0]], 3)
    assert 1000 not in found

    lims, rids, rdist = index.range(codes[[1, 2]], 0)
    np.testing.assert_array_equal(lims, [0, 1, 2])
    np.testing.assert_array_equal(rids, [1001, 1002])
    np.testing.assert_array_equal(rdist, [0, 0])

    path = tmp_path / "hashes.npz"
    index.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hashes.npz"]  # no temp left
    loaded = HammingIndex.load(path, use_faiss=use_faiss)
    assert len(loaded) == 498 and loaded.nbits == 64
    np.testing.assert_array_equal(loaded.ids, index.ids)
    q = rng.integers(0, 2**63, 30, dtype=np.uint64)
    _assert_pairs(loaded.search(q, 5), index.search(q, 5))
    # ties among ids follow insertion order, like knn over the rows
    want_pos, _ = knn(codes_to_uint8(codes)[np.isin(np.arange(500), [0, 450], invert=True)], q, 5)
    np.testing.assert_array_equal(loaded.search(q, 5)[0], index.ids[want_pos])


def test_hamming_index_256bit_and_errors(tmp_path) -> None:
    rng = np.random.default_rng(2)
    rows = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    index = HammingIndex(256, use_faiss=False)
    index.add(rows)
    with pytest.raises(ValueError):
        index.add(np.uint64([1]))
    found, dist = index.search(rows[:3], 2)
    np.testing.assert_array_equal(found[:, 0], [0, 1, 2])
    np.testing.assert_array_equal(dist[:, 0], 0)

    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not an index")
    with pytest.raises(CollectionError):
        HammingIndex.load(bad)
    with pytest.raises(CollectionError):
        HammingIndex.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("use_faiss", BACKENDS)
def test_neighbour_pairs_backends_agree_and_none_is_exact(use_faiss: bool) -> None:
    u8 = _planted(1200, 8, 8, seed=11)
    u8[:300] = u8[0]  # identical codes: a star around row 0
    exact = radius_pairs(u8, 8, use_faiss=use_faiss)
    _assert_pairs(H.neighbour_pairs(u8, 8, max_neighbours=None, use_faiss=use_faiss), exact)
    got = H.neighbour_pairs(u8, 8, max_neighbours=3, use_faiss=use_faiss)
    _assert_pairs(got, H.neighbour_pairs(u8, 8, max_neighbours=3, use_faiss=not use_faiss))
    assert set(zip(*got[:2], strict=True)) <= set(zip(*exact[:2], strict=True))
    first, rows = H.identical_stars(u8)
    np.testing.assert_array_equal(first, np.zeros(299, np.int64))
    np.testing.assert_array_equal(rows, np.arange(1, 300))


@pytest.mark.parametrize("use_faiss", BACKENDS)
def test_neighbour_search_connects_every_close_query(use_faiss: bool) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    index = _planted(600, 8, 10, seed=12)
    index[:50] = index[0]
    rng = np.random.default_rng(13)
    queries = index[rng.integers(0, 600, 900)] ^ np.packbits(rng.random((900, 64)) < 0.05, axis=1)
    queries[:40] = queries[0]
    lims, idx, _ = radius_search(index, queries, 10, use_faiss=use_faiss)
    q, j, d = H.neighbour_search(index, queries, 10, max_neighbours=2, use_faiss=use_faiss)
    np.testing.assert_array_equal(d, _dist_matrix(queries, index)[q, j])
    assert (d <= 10).all()
    # queries are nodes 0..899, index rows 900..1499; stars link identical rows
    qf, qr = H.identical_stars(queries)
    jf, jr = H.identical_stars(index)
    a = np.concatenate([q, qf, jf + 900])
    b = np.concatenate([j + 900, qr, jr + 900])
    _, label = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(1500, 1500)))
    want_q = np.repeat(np.arange(900), np.diff(lims))
    assert (label[want_q] == label[idx + 900]).all()
