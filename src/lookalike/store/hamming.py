"""Exact Hamming search over binary hash codes: all close pairs, k nearest, radius search.

Codes are perceptual hashes: 64-bit codes as a ``(n,)`` uint64 array (the big-endian view
of the hash's 8 bytes, so hex strings read naturally), or longer codes as packed uint8 rows
``(n, nbytes)`` whose first hash bit is the most significant bit of byte 0 (as
``np.packbits``). Everything is batch-first: arrays in, arrays out.

All-pairs search (:func:`radius_pairs`) uses multi-index hashing (Norouzi, Punjani and
Fleet, "Fast search in Hamming space with multi-index hashing", CVPR 2012): the bits are cut
into chunks with per-chunk radii ``t_i`` such that ``sum(t_i + 1) == radius + 1``; by the
pigeonhole principle every pair within ``radius`` is within ``t_i`` on some chunk, so
probing the buckets within ``t_i`` of each chunk key finds every pair (exact). The chunk
layout is chosen by a small cost model; when it predicts no gain over a full scan, a
brute-force scan is used instead. With faiss the buckets are ``IndexBinaryIVF`` inverted
lists probed with ``range_search_preassigned`` (queries sorted by key so probes hit cache);
without faiss the same plan runs in numpy.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from collections.abc import Iterator
from math import comb
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from lookalike.errors import CollectionError, UsageError, require
from lookalike.store.atomic import atomic_write

__all__ = [
    "NEIGHBOURS",
    "HammingIndex",
    "codes_to_uint8",
    "faiss_module",
    "identical_stars",
    "knn",
    "neighbour_pairs",
    "neighbour_search",
    "radius_pairs",
    "radius_search",
]

_MAX_CHUNK_BITS = 20  # at most 2**20 buckets per chunk
_MAX_PROBES = 4096  # at most this many buckets probed per chunk and query
_SMALL_BATCH = 64  # below this many queries faiss runs on one thread (no OpenMP start-up)
_BLOCK_ITEMS = 4_000_000  # elements per temporary block (bounds transient memory)


# --------------------------------------------------------------------------- conversions


def codes_to_uint8(codes: Any) -> np.ndarray:
    """Return codes as C-contiguous packed rows ``(n, nbytes)`` uint8.

    Accepts a ``(n,)`` uint64/int64 array (big-endian view of 8-byte hashes), packed uint8
    rows, or unpacked ``(n, nbits)`` bool rows (packed with ``np.packbits``).
    """
    arr = np.asarray(codes)
    if arr.ndim == 1 and arr.dtype.kind in "iu":
        if arr.dtype.itemsize != 8:
            arr = arr.astype(np.uint64)
        return np.ascontiguousarray(arr.view(np.uint64).astype(">u8").view(np.uint8)).reshape(-1, 8)
    if arr.ndim == 2 and arr.dtype == np.bool_:
        return np.ascontiguousarray(np.packbits(arr, axis=1))
    if arr.ndim == 2 and arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    raise UsageError(
        f"codes must be (n,) uint64 or (n, nbytes) uint8 rows, got {arr.dtype} {arr.shape}"
    )


def _words(u8: np.ndarray) -> np.ndarray:
    """Packed rows as ``(n, w)`` uint64 words (zero padded) for numpy distances."""
    n, nbytes = u8.shape
    pad = (-nbytes) % 8
    if pad:
        u8 = np.concatenate([u8, np.zeros((n, pad), np.uint8)], axis=1)
    return np.ascontiguousarray(u8).view(np.uint64)


def _distances(wa: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """Row-wise Hamming distance of two word arrays of the same shape."""
    x = np.bitwise_count(wa ^ wb)
    return x[:, 0].astype(np.int32) if x.shape[1] == 1 else x.sum(axis=1, dtype=np.int32)


def _chunk_key(u8: np.ndarray, start: int, nbits: int) -> np.ndarray:
    """Integer value of bits ``[start, start + nbits)`` of every row (MSB first)."""
    first, last = start // 8, (start + nbits - 1) // 8
    acc = np.zeros(len(u8), np.int64)
    for byte in range(first, last + 1):
        acc = (acc << 8) | u8[:, byte]
    shift = (last + 1) * 8 - start - nbits
    return (acc >> shift) & ((1 << nbits) - 1)


@functools.lru_cache(maxsize=64)
def _flip_masks(nbits: int, t: int) -> np.ndarray:
    """All ``nbits``-bit masks with at most ``t`` bits set (the probes of a chunk)."""
    masks = [0]
    for k in range(1, t + 1):
        masks.extend(sum(1 << i for i in c) for c in itertools.combinations(range(nbits), k))
    return np.array(masks, dtype=np.int64)


def faiss_module(use_faiss: bool | None) -> Any:
    """faiss when wanted and importable; None selects the numpy path."""
    if use_faiss is False:
        return None
    if use_faiss is True:
        return require("faiss", "index")
    try:
        import faiss
    except ImportError:
        return None
    return faiss


@contextlib.contextmanager
def _threads(faiss: Any, nq: int) -> Iterator[None]:
    """One OpenMP thread for small batches: spinning up the pool costs more than the work."""
    if faiss is None or nq >= _SMALL_BATCH:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


# --------------------------------------------------------------------------- planning

# Cost model, microseconds, measured on a 2-core machine over 1M random 64-bit codes.
# faiss: per query and chunk, per probed bucket, per candidate; a full flat scan per pair.
_COST = {
    "faiss": {"query": 0.3, "probe": 0.03, "cand": 0.0007, "build": 0.3, "scan": 0.0009},
    "numpy": {"query": 0.05, "probe": 0.03, "cand": 0.02, "build": 0.2, "scan": 0.004},
}


_QUICK_SCAN_US = 20_000.0  # below this predicted scan cost, do not bother planning


def _plan(
    nbits: int, radius: int, n_index: int, n_query: int, self_join: bool, backend: str
) -> tuple[tuple[int, int, int], ...] | None:
    """Chunks ``(start_bit, nbits, t)`` with ``sum(t + 1) >= radius + 1``, or None (scan)."""
    c = _COST[backend]
    words = -(-nbits // 64)
    pair_factor = 0.5 if self_join else 1.0
    scan = n_query * n_index * c["scan"] * pair_factor * (words if backend == "numpy" else 1)
    if scan < _QUICK_SCAN_US or radius + 1 > nbits:
        return None
    # the layout depends on n_index only through candidates per probe: bucket it coarsely
    scale = 2.0 ** round(np.log2(max(1.0, n_index * pair_factor)), 1)
    per_query, chunks = _layout(nbits, radius, scale, backend)
    if n_query * per_query + n_index * len(chunks) * c["build"] >= scan:
        return None
    return chunks


@functools.lru_cache(maxsize=256)
def _layout(
    nbits: int, radius: int, candidates_scale: float, backend: str
) -> tuple[float, tuple[tuple[int, int, int], ...]]:
    """Cheapest chunk layout per query: a dynamic programme over (pigeonhole units, bits)."""
    c = _COST[backend]
    units = radius + 1
    options = []
    for b in range(1, min(_MAX_CHUNK_BITS, nbits) + 1):
        for t in range(min(b, units)):
            probes = sum(comb(b, k) for k in range(t + 1))
            if probes > _MAX_PROBES:
                break
            cand = candidates_scale * probes / 2.0**b
            options.append((b, t, c["query"] + c["probe"] * probes + c["cand"] * cand))
    inf = float("inf")
    # best[u][w]: least cost covering u units with w bits; how[u][w]: (b, t, previous u)
    best = [[inf] * (nbits + 1) for _ in range(units + 1)]
    how: list[list[tuple[int, int, int] | None]] = [[None] * (nbits + 1) for _ in range(units + 1)]
    best[0][0] = 0.0
    for u in range(units):
        for w in range(nbits + 1):
            here = best[u][w]
            if here == inf:
                continue
            for b, t, cost in options:
                if w + b > nbits:
                    break
                nu = min(units, u + t + 1)
                if here + cost < best[nu][w + b]:
                    best[nu][w + b] = here + cost
                    how[nu][w + b] = (b, t, u)
    w_best = min(range(nbits + 1), key=lambda w: best[units][w])
    chunks = []
    u, w = units, w_best
    while u:
        b, t, u = how[u][w]  # type: ignore[misc]
        w -= b
        chunks.append((w, b, t))
    # cheapest chunks first: later chunks drop pairs an earlier chunk already reported
    return best[units][w_best], tuple(sorted(chunks, key=lambda ch: (ch[2], ch[0])))


# --------------------------------------------------------------------------- pair joins


class _Pairs:
    """Accumulates (a, b, distance) blocks."""

    def __init__(self) -> None:
        self.a: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        self.d: list[np.ndarray] = []

    def add(self, a: np.ndarray, b: np.ndarray, d: np.ndarray) -> None:
        if len(a):
            self.a.append(a.astype(np.int64, copy=False))
            self.b.append(b.astype(np.int64, copy=False))
            self.d.append(d.astype(np.int32, copy=False))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.a:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
        return np.concatenate(self.a), np.concatenate(self.b), np.concatenate(self.d)


def _expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows r with ranges [lo, hi): (row of each element, element) flattened."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    rows = np.repeat(np.arange(len(lo)), counts)
    starts = np.cumsum(counts) - counts
    elems = np.arange(total, dtype=np.int64) - np.repeat(starts - lo, counts)
    return rows, elems


def _split_by_work(counts: np.ndarray, cap: int) -> list[tuple[int, int]]:
    """Cut rows into consecutive slices whose summed ``counts`` stay near ``cap``."""
    cum = np.cumsum(counts)
    bounds = [0]
    while bounds[-1] < len(counts):
        base = cum[bounds[-1] - 1] if bounds[-1] else 0
        nxt = int(np.searchsorted(cum, base + cap, side="right"))
        bounds.append(min(len(counts), max(nxt, bounds[-1] + 1)))
    return list(itertools.pairwise(bounds))


class _Join:
    """Multi-index-hashing join of query rows against index rows within ``radius``."""

    def __init__(
        self,
        index: np.ndarray,
        queries: np.ndarray | None,
        radius: int,
        faiss: Any,
        chunks: tuple[tuple[int, int, int], ...],
    ) -> None:
        self.index = index
        self.queries = queries  # None: self join, report pairs a < b only
        self.radius = radius
        self.faiss = faiss
        self.chunks = chunks
        self.iwords = _words(index)
        self.qwords = self.iwords if queries is None else _words(queries)
        self.ikeys: list[np.ndarray] = []
        self.qkeys: list[np.ndarray] = []

    def _seen_before(self, ci: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Pairs an earlier chunk already reported (so each pair comes out once)."""
        seen = np.zeros(len(a), bool)
        for (_, _, t), qk, ik in zip(self.chunks[:ci], self.qkeys, self.ikeys, strict=False):
            seen |= np.bitwise_count(qk[a] ^ ik[b]) <= t
        return seen

    def run(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = _Pairs()
        for block in self.blocks():
            out.add(*block)
        return out.arrays()

    def blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The pairs as blocks of ``(query, index, distance)``, each pair exactly once."""
        for ci, (start, b, t) in enumerate(self.chunks):
            ikey = _chunk_key(self.index, start, b)
            qkey = ikey if self.queries is None else _chunk_key(self.queries, start, b)
            masks = _flip_masks(b, t)
            if self.faiss is not None:
                found = self._faiss_chunk(b, ikey, qkey, masks)
            else:
                found = self._numpy_chunk(b, ikey, qkey, masks)
            self.ikeys.append(ikey)
            self.qkeys.append(qkey)
            for qa, ib, d in found:
                keep = ~self._seen_before(ci, qa, ib)
                yield qa[keep], ib[keep], d[keep]

    def _faiss_chunk(
        self, b: int, ikey: np.ndarray, qkey: np.ndarray, masks: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        faiss = self.faiss
        d = self.index.shape[1] * 8
        ivf = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(d), d, 1 << b)
        ivf.is_trained = True
        ivf.nprobe = len(masks)
        qorder = np.argsort(qkey, kind="stable")
        block = max(256, _BLOCK_ITEMS // len(masks))
        if self.queries is None:
            # self join: add blocks from the end, so a block only meets itself and later ranks
            iorder = qorder
            sq = np.ascontiguousarray(self.index[qorder])
            skey = qkey[qorder]
            starts = list(range(0, len(sq), block))[::-1]
            for s in starts:
                e = min(s + block, len(sq))
                ranks = np.arange(s, e, dtype=np.int64)
                ivf.add_core(
                    e - s,
                    faiss.swig_ptr(sq[s:e]),
                    faiss.swig_ptr(ranks),
                    faiss.swig_ptr(np.ascontiguousarray(skey[s:e])),
                )
                probes = skey[s:e, None] ^ masks[None, :]
                lims, dist, lab = ivf.range_search_preassigned(
                    sq[s:e], self.radius + 1, probes, None
                )
                qr = np.repeat(ranks, np.diff(lims.astype(np.int64)))
                keep = lab > qr
                a, bb = iorder[qr[keep]], iorder[lab[keep]]
                yield np.minimum(a, bb), np.maximum(a, bb), dist[keep]
        else:
            ids = np.arange(len(self.index), dtype=np.int64)
            ivf.add_core(
                len(ids),
                faiss.swig_ptr(self.index),
                faiss.swig_ptr(ids),
                faiss.swig_ptr(np.ascontiguousarray(ikey)),
            )
            sq = np.ascontiguousarray(self.queries[qorder])
            skey = qkey[qorder]
            for s in range(0, len(sq), block):
                e = min(s + block, len(sq))
                probes = skey[s:e, None] ^ masks[None, :]
                lims, dist, lab = ivf.range_search_preassigned(
                    sq[s:e], self.radius + 1, probes, None
                )
                qr = np.repeat(qorder[s:e], np.diff(lims.astype(np.int64)))
                yield qr, lab, dist

    def _numpy_chunk(
        self, b: int, ikey: np.ndarray, qkey: np.ndarray, masks: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        iorder = np.argsort(ikey, kind="stable")
        table = np.searchsorted(ikey[iorder], np.arange((1 << b) + 1))
        self_join = self.queries is None
        rank = np.empty(len(iorder), np.int64)
        rank[iorder] = np.arange(len(iorder))
        for mask in masks:
            target = qkey ^ mask
            if self_join and mask == 0:
                lo, hi = rank + 1, table[target + 1]  # same bucket, later ranks only
            elif self_join:
                lo, hi = table[target], table[target + 1]
                lo = np.where(qkey < target, lo, hi)  # each bucket pair from one side
            else:
                lo, hi = table[target], table[target + 1]
            for s, e in _split_by_work(hi - lo, _BLOCK_ITEMS):
                rows, elems = _expand_ranges(lo[s:e], hi[s:e])
                qa = rows + s
                ib = iorder[elems]
                dist = _distances(self.qwords[qa], self.iwords[ib])
                ok = dist <= self.radius
                qa, ib, dist = qa[ok], ib[ok], dist[ok]
                if self_join:
                    qa, ib = np.minimum(qa, ib), np.maximum(qa, ib)
                yield qa, ib, dist


def _scan_join(
    index: np.ndarray, queries: np.ndarray | None, radius: int, faiss: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brute-force join (every pair compared), blockwise; self join keeps a < b."""
    out = _Pairs()
    for block in _scan_blocks(index, queries, radius, faiss):
        out.add(*block)
    return out.arrays()


def _scan_blocks(
    index: np.ndarray, queries: np.ndarray | None, radius: int, faiss: Any
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The blocks of :func:`_scan_join` as they are found."""
    n = len(index)
    self_join = queries is None
    q: np.ndarray = index if queries is None else queries
    if faiss is not None:
        flat = faiss.IndexBinaryFlat(index.shape[1] * 8)
        if not self_join:
            flat.add(index)
        # at most ~_BLOCK_ITEMS hits per block even when every pair is a hit
        block = max(1, min(len(q), 2048, max(64, _BLOCK_ITEMS // max(n, 1))))
        starts = list(range(0, len(q), block))
        for s in starts[::-1] if self_join else starts:
            e = min(s + block, len(q))
            if self_join:
                # the index holds rows [s, n) in order: ids are offset by s
                flat.reset()
                flat.add(index[s:])
            with _threads(faiss, e - s):
                lims, dist, lab = flat.range_search(q[s:e], radius + 1)
            qa = np.repeat(np.arange(s, e, dtype=np.int64), np.diff(lims.astype(np.int64)))
            if self_join:
                lab = lab + s
                keep = lab > qa
                qa, lab, dist = qa[keep], lab[keep], dist[keep]
            yield qa, lab, dist
        return
    iw = _words(index)
    qw = iw if self_join else _words(q)
    block = max(1, _BLOCK_ITEMS // max(1, n * iw.shape[1]))
    for s in range(0, len(q), block):
        e = min(s + block, len(q))
        lo = s + 1 if self_join else 0
        x = np.bitwise_count(qw[s:e, None, :] ^ iw[None, lo:, :]).sum(axis=2, dtype=np.int32)
        r, c = np.nonzero(x <= radius)
        if self_join:
            c_abs = c + lo
            keep = c_abs > r + s
            r, c, c_abs = r[keep], c[keep], c_abs[keep]
        else:
            c_abs = c
        yield r + s, c_abs, x[r, c]


def _join(
    index: np.ndarray, queries: np.ndarray | None, radius: int, faiss: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact join: multi-index hashing when the cost model favours it, else a scan."""
    nbits = index.shape[1] * 8
    nq = len(index) if queries is None else len(queries)
    if len(index) == 0 or nq == 0 or radius < 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
    backend = "faiss" if faiss is not None else "numpy"
    chunks = _plan(nbits, radius, len(index), nq, queries is None, backend)
    if chunks is None:
        return _scan_join(index, queries, radius, faiss)
    with _threads(faiss, nq):
        return _Join(index, queries, radius, faiss, chunks).run()


def _join_blocks(
    index: np.ndarray, queries: np.ndarray | None, radius: int, faiss: Any
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`_join` as a stream of ``(query, index, distance)`` blocks, each pair once."""
    nbits = index.shape[1] * 8
    nq = len(index) if queries is None else len(queries)
    if len(index) == 0 or nq == 0 or radius < 0:
        return
    backend = "faiss" if faiss is not None else "numpy"
    chunks = _plan(nbits, radius, len(index), nq, queries is None, backend)
    with _threads(faiss, nq):
        if chunks is None:
            yield from _scan_blocks(index, queries, radius, faiss)
        else:
            yield from _Join(index, queries, radius, faiss, chunks).blocks()


def _unique_rows(u8: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows, the row of each input, and how often each occurs."""
    if u8.shape[1] == 8:
        keys = u8.view(">u8").reshape(-1)
        uk, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        return uk.astype(">u8").view(np.uint8).reshape(-1, 8), inverse, counts
    uniq, inverse, counts = np.unique(u8, axis=0, return_inverse=True, return_counts=True)
    return np.ascontiguousarray(uniq), inverse.reshape(-1), counts


def _pairs_within_groups(
    members: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (x < y positions) inside each group of ``members[starts:starts+counts]``."""
    multi = counts > 1
    starts, counts = starts[multi], counts[multi]
    # row r = (group g, position p) pairs with positions p+1 .. count-1
    g_rows = np.repeat(np.arange(len(counts)), counts - 1)
    p = np.arange(len(g_rows)) - np.repeat(np.cumsum(counts - 1) - (counts - 1), counts - 1)
    lo = starts[g_rows] + p + 1
    hi = starts[g_rows] + counts[g_rows]
    rows, elems = _expand_ranges(lo, hi)
    return members[starts[g_rows][rows] + p[rows]], members[elems]


def _cross_groups(
    members: np.ndarray, starts: np.ndarray, counts: np.ndarray, ga: np.ndarray, gb: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All member pairs between groups ``ga[k]`` and ``gb[k]``, plus the pair index k."""
    na, nb = counts[ga], counts[gb]
    sizes = na * nb
    k = np.repeat(np.arange(len(ga)), sizes)
    local = np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    x, y = local // nb[k], local % nb[k]
    return members[starts[ga][k] + x], members[starts[gb][k] + y], k


# --------------------------------------------------------------------------- public API


def radius_pairs(
    codes: Any, radius: int, *, use_faiss: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs ``i < j`` within Hamming ``radius``: ``(i, j, distance)`` sorted by (i, j).

    Exact. Identical codes are collapsed first, so a cluster of copies costs only its
    output. ``use_faiss``: None = faiss if installed, False = numpy, True = require faiss.
    """
    u8 = codes_to_uint8(codes)
    faiss = faiss_module(use_faiss)
    n = len(u8)
    if radius < 0 or n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
    uniq, inverse, counts = _unique_rows(u8)
    if len(uniq) == n:
        i, j, d = _join(u8, None, int(radius), faiss)
    else:
        ua, ub, ud = _join(np.ascontiguousarray(uniq), None, int(radius), faiss)
        members = np.argsort(inverse, kind="stable")
        starts = np.cumsum(counts) - counts
        same_i, same_j = _pairs_within_groups(members, starts, counts)
        ci, cj, k = _cross_groups(members, starts, counts, ua, ub)
        i = np.concatenate([same_i, np.minimum(ci, cj)])
        j = np.concatenate([same_j, np.maximum(ci, cj)])
        d = np.concatenate([np.zeros(len(same_i), np.int32), ud[k]])
    order = np.argsort(i * max(n, 1) + j, kind="stable")
    return i[order], j[order], d[order]


#: Nearest distinct codes each code keeps in :func:`neighbour_pairs` / :func:`neighbour_search`.
NEIGHBOURS = 32


def _first_rows(u8: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows in order of first occurrence, that first row, and each row's distinct id."""
    uniq, inverse, counts = _unique_rows(u8)
    members = np.argsort(inverse, kind="stable")
    first = members[np.cumsum(counts) - counts]
    order = np.argsort(first, kind="stable")
    renumber = np.empty(len(order), np.int64)
    renumber[order] = np.arange(len(order))
    return np.ascontiguousarray(uniq[order]), first[order], renumber[inverse]


def identical_stars(codes: Any) -> tuple[np.ndarray, np.ndarray]:
    """Each row whose code occurred before, with the first row of that code: ``(first, row)``.

    A set of ``m`` identical codes as a star of ``m - 1`` pairs instead of ``m(m-1)/2``.
    """
    u8 = codes_to_uint8(codes)
    if len(u8) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    _, first, inverse = _first_rows(u8)
    rep = first[inverse]
    rows = np.flatnonzero(rep != np.arange(len(u8)))
    return rep[rows], rows


def _distinct(x: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """The distinct values of ``x`` (sorted) via a cleared boolean scratch of their range."""
    mark[x] = True
    out = np.flatnonzero(mark)
    mark[out] = False
    return out


class _Nearest:
    """The ``k`` nearest offered neighbours of each row, ties to the lower index."""

    def __init__(self, n: int, k: int, n_index: int) -> None:
        self.k = k
        self.j = np.full((n, k), -1, np.int32 if n_index < 2**31 else np.int64)
        self.d = np.full((n, k), np.iinfo(np.int16).max, np.int16)
        self.bits_q = max(1, (n - 1).bit_length())
        self.bits_j = max(1, (n_index - 1).bit_length())
        self.mark = np.zeros(n, bool)

    def offer(self, q: np.ndarray, j: np.ndarray, d: np.ndarray) -> None:
        keep = d <= self.d[q, self.k - 1]  # a full row drops farther offers
        if not keep.all():
            q, j, d = q[keep], j[keep], d[keep]
        if len(q) == 0:
            return
        rows = _distinct(q, self.mark)
        old_j, old_d = self.j[rows].ravel(), self.d[rows].ravel()
        have = old_j >= 0
        qq = np.concatenate([np.repeat(rows, self.k)[have], q])
        jj = np.concatenate([old_j[have].astype(np.int64), j])
        dd = np.concatenate([old_d[have].astype(np.int32), d])
        bits_d = max(1, int(dd.max()).bit_length())
        if self.bits_q + bits_d + self.bits_j <= 63:  # one packed key sorts fastest
            key = (qq << (bits_d + self.bits_j)) | (dd.astype(np.int64) << self.bits_j) | jj
            key.sort()
            jj = key & ((1 << self.bits_j) - 1)
            dd = ((key >> self.bits_j) & ((1 << bits_d) - 1)).astype(np.int32)
            qq = key >> (bits_d + self.bits_j)
        else:
            order = np.lexsort((jj, dd, qq))
            qq, jj, dd = qq[order], jj[order], dd[order]
        start = np.searchsorted(qq, rows)
        rank = np.arange(len(qq)) - np.repeat(start, np.diff(np.append(start, len(qq))))
        keep = rank < self.k
        self.j[rows] = -1
        self.d[rows] = np.iinfo(np.int16).max
        self.j[qq[keep], rank[keep]] = jj[keep]
        self.d[qq[keep], rank[keep]] = dd[keep]

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r, c = np.nonzero(self.j >= 0)
        return r.astype(np.int64), self.j[r, c].astype(np.int64), self.d[r, c].astype(np.int32)


class _Forest:
    """A spanning forest of the offered edges, grown block by block (union-find).

    Any two nodes joined by some offered edge stay connected by the forest's edges, which
    are at most ``n - 1``; within a block the nearest edges are preferred.
    """

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)
        self.out = _Pairs()
        self.mark = np.zeros(n, bool)
        self.slot = np.zeros(n, np.int64)

    def _find(self, x: np.ndarray) -> np.ndarray:
        r = self.parent[x]
        while True:
            up = self.parent[r]
            if np.array_equal(up, r):
                break
            r = up
        self.parent[x] = r  # path compression
        return r

    def offer(self, a: np.ndarray, b: np.ndarray, d: np.ndarray) -> None:
        if len(a) == 0:
            return
        ra, rb = self._find(a), self._find(b)
        m = ra != rb
        if not m.any():
            return
        a, b, d = a[m], b[m], d[m]
        ra, rb = ra[m], rb[m]
        labels = _distinct(np.concatenate([ra, rb]), self.mark)
        size = len(labels)
        self.slot[labels] = np.arange(size)
        la, lb = self.slot[ra], self.slot[rb]
        la, lb = np.minimum(la, lb), np.maximum(la, lb)
        tree_pair = la * size + lb
        bits_d = max(1, int(d.max()).bit_length())
        if 2 * max(1, (size - 1).bit_length()) + bits_d <= 63:
            order = np.argsort((tree_pair << bits_d) | d.astype(np.int64))
        else:
            order = np.lexsort((d, tree_pair))  # one edge per pair of trees: the nearest
        tree_pair, la, lb, a, b, d = (x[order] for x in (tree_pair, la, lb, a, b, d))
        first = np.ones(len(la), bool)
        first[1:] = tree_pair[1:] != tree_pair[:-1]
        tree_pair, la, lb, a, b, d = (x[first] for x in (tree_pair, la, lb, a, b, d))
        graph = coo_matrix((d + 1.0, (la, lb)), shape=(size, size)).tocsr()
        tree = minimum_spanning_tree(graph).tocoo()
        tl, th = np.minimum(tree.row, tree.col), np.maximum(tree.row, tree.col)
        pos = np.searchsorted(tree_pair, tl.astype(np.int64) * size + th)
        self.out.add(a[pos], b[pos], d[pos])
        _, comp = connected_components(tree, directed=False)
        low = np.full(comp.max() + 1, len(self.parent), np.int64)
        np.minimum.at(low, comp, labels)
        self.parent[labels] = low[comp]


def _capped_join(
    index: np.ndarray, queries: np.ndarray | None, radius: int, k: int, faiss: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``k`` nearest index rows of each query row within ``radius`` plus a spanning forest.

    Self join (``queries`` None): both ends of a pair offer each other, pairs come as
    (query, index) rows with any order. Cross join: nodes of the forest are the queries
    then the index rows; only queries keep nearest neighbours.
    """
    nq = len(index) if queries is None else len(queries)
    near = _Nearest(nq, k, nq if queries is None else len(index))
    forest = _Forest(nq if queries is None else nq + len(index))
    for a, b, d in _join_blocks(index, queries, radius, faiss):
        if queries is None:
            near.offer(np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([d, d]))
            forest.offer(a, b, d)
        else:
            near.offer(a, b, d)
            forest.offer(a, b + nq, d)
    q, j, d = near.pairs()
    fa, fb, fd = forest.out.arrays()
    if queries is not None:
        fb = fb - nq
    return np.concatenate([q, fa]), np.concatenate([j, fb]), np.concatenate([d, fd])


def _dedupe(
    i: np.ndarray, j: np.ndarray, d: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (i, j) pairs sorted by (i, j)."""
    _, pick = np.unique(i * max(width, 1) + j, return_index=True)
    return i[pick], j[pick], d[pick]


def neighbour_pairs(
    codes: Any,
    radius: int,
    *,
    max_neighbours: int | None = NEIGHBOURS,
    use_faiss: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``i < j`` within ``radius`` that keep every close pair connected, O(n * k).

    ``(i, j, distance)`` sorted by (i, j), for grouping where :func:`radius_pairs` would
    return O(n^2) pairs (thousands of blank scans, bursts of near-identical frames):

    * identical codes form a star: each row paired with the first row of its code;
    * each distinct code (its first row) keeps its ``max_neighbours`` nearest distinct
      codes within ``radius`` (by distance, then the lower row);
    * a spanning forest of the radius graph over distinct codes (at most one pair per
      code) keeps any two codes within ``radius`` connected, even between clusters larger
      than ``max_neighbours``.

    Transient memory is bounded by blocks of the join. ``max_neighbours=None``: every
    pair, exactly :func:`radius_pairs`.
    """
    if max_neighbours is None:
        return radius_pairs(codes, radius, use_faiss=use_faiss)
    if max_neighbours < 1:
        raise UsageError("max_neighbours must be positive (or None for every pair)")
    u8 = codes_to_uint8(codes)
    n = len(u8)
    if radius < 0 or n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
    uniq, first, inverse = _first_rows(u8)
    ua, ub, ud = _capped_join(uniq, None, int(radius), int(max_neighbours), faiss_module(use_faiss))
    a, b = first[ua], first[ub]
    rep = first[inverse]
    star = np.flatnonzero(rep != np.arange(n))
    i = np.concatenate([np.minimum(a, b), rep[star]])
    j = np.concatenate([np.maximum(a, b), star])
    d = np.concatenate([ud, np.zeros(len(star), np.int32)])
    return _dedupe(i, j, d, n)


def neighbour_search(
    index_codes: Any,
    query_codes: Any,
    radius: int,
    *,
    max_neighbours: int = NEIGHBOURS,
    use_faiss: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Links ``(query row, index row, distance)`` within ``radius``, O((nq + n) * k).

    Identical query rows are represented by their first row, identical index rows too;
    each distinct query code keeps its ``max_neighbours`` nearest distinct index codes,
    and a spanning forest of the query-index radius graph is added. With
    :func:`identical_stars` of both sides, every query row is connected to every index
    row within ``radius``. Sorted by (query, index).
    """
    if max_neighbours < 1:
        raise UsageError("max_neighbours must be positive")
    index = codes_to_uint8(index_codes)
    queries = codes_to_uint8(query_codes)
    _check_width(index, queries)
    if radius < 0 or len(index) == 0 or len(queries) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
    iu, ifirst, _ = _first_rows(index)
    qu, qfirst, _ = _first_rows(queries)
    q, j, d = _capped_join(iu, qu, int(radius), int(max_neighbours), faiss_module(use_faiss))
    return _dedupe(qfirst[q], ifirst[j], d, len(index))


def radius_search(
    index_codes: Any, query_codes: Any, radius: int, *, use_faiss: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every index row within ``radius`` of each query, CSR style like faiss.

    Returns ``(lims, indices, distances)``: the hits of query q are
    ``indices[lims[q]:lims[q+1]]``, sorted by (distance, index).
    """
    index = codes_to_uint8(index_codes)
    queries = codes_to_uint8(query_codes)
    _check_width(index, queries)
    q, j, d = _join(index, queries, int(radius), faiss_module(use_faiss))
    return _csr(len(queries), q, j, d)


def _csr(
    nq: int, q: np.ndarray, j: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((j, d, q))
    lims = np.zeros(nq + 1, np.int64)
    np.cumsum(np.bincount(q, minlength=nq), out=lims[1:])
    return lims, j[order], d[order]


def _check_width(index: np.ndarray, queries: np.ndarray) -> None:
    if index.shape[1] != queries.shape[1]:
        raise UsageError(
            f"codes of {queries.shape[1] * 8} bits cannot be compared with {index.shape[1] * 8}"
        )


def _topk_from_csr(
    nq: int, k: int, lims: np.ndarray, idx: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` of each query's candidates by (distance, index), padded with -1."""
    q = np.repeat(np.arange(nq), np.diff(lims))
    order = np.lexsort((idx, dist, q))
    q, idx, dist = q[order], idx[order], dist[order]
    rank = np.arange(len(q)) - lims[q]
    keep = rank < k
    out_i = np.full((nq, k), -1, np.int64)
    out_d = np.full((nq, k), -1, np.int32)
    out_i[q[keep], rank[keep]] = idx[keep]
    out_d[q[keep], rank[keep]] = dist[keep]
    return out_i, out_d


class _Flat:
    """A fixed set of codes searched by full scans (faiss IndexBinaryFlat or numpy)."""

    def __init__(self, u8: np.ndarray, faiss: Any) -> None:
        self.u8 = u8
        self.faiss = faiss
        self._flat: Any = None
        self._sub: tuple[int, Any] | None = None
        self._words: np.ndarray | None = None

    @property
    def flat(self) -> Any:
        if self._flat is None:
            self._flat = self.faiss.IndexBinaryFlat(self.u8.shape[1] * 8)
            self._flat.add(self.u8)
        return self._flat

    @property
    def words(self) -> np.ndarray:
        if self._words is None:
            self._words = _words(self.u8)
        return self._words

    def knn(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        nq, n = len(queries), len(self.u8)
        if k <= 0:
            raise UsageError("k must be positive")
        if n == 0 or nq == 0:
            return np.full((nq, k), -1, np.int64), np.full((nq, k), -1, np.int32)
        kk = min(k, n)
        if self.faiss is None:
            i, d = self._knn_numpy(queries, kk)
        else:
            i, d = self._knn_faiss(queries, kk)
        if kk < k:
            i = np.concatenate([i, np.full((nq, k - kk), -1, np.int64)], axis=1)
            d = np.concatenate([d, np.full((nq, k - kk), -1, np.int32)], axis=1)
        return i, d

    def _sample_index(self, sample: np.ndarray) -> Any:
        """The index of an evenly spaced sample, kept while the codes stay the same."""
        if self._sub is None or self._sub[0] != len(sample):
            sub = self.faiss.IndexBinaryFlat(self.u8.shape[1] * 8)
            sub.add(np.ascontiguousarray(self.u8[sample]))
            self._sub = (len(sample), sub)
        return self._sub[1]

    def _knn_faiss(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k-th distance bounded on a sample, then one range scan; ties broken by index."""
        faiss, n, nq = self.faiss, len(self.u8), len(queries)
        m = min(n, max(4096, 16 * k, n // 16))
        sample = np.linspace(0, n - 1, m).astype(np.int64) if m < n else None
        with _threads(faiss, nq):
            if sample is None:
                bound, _ = self.flat.search(queries, k)
            else:
                bound, _ = self._sample_index(sample).search(queries, k)
            radius = bound[:, k - 1].astype(np.int64)
            out_i = np.empty((nq, k), np.int64)
            out_d = np.empty((nq, k), np.int32)
            for r in np.unique(radius):
                rows = np.flatnonzero(radius == r)
                for s in range(0, len(rows), 1024):
                    sel = rows[s : s + 1024]
                    lims, dist, lab = self.flat.range_search(queries[sel], int(r) + 1)
                    ii, dd = _topk_from_csr(len(sel), k, lims.astype(np.int64), lab, dist)
                    out_i[sel], out_d[sel] = ii, dd
        return out_i, out_d

    def _knn_numpy(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        iw, qw = self.words, _words(queries)
        n, nq = len(iw), len(qw)
        out_i = np.empty((nq, k), np.int64)
        out_d = np.empty((nq, k), np.int32)
        block = max(1, _BLOCK_ITEMS // (n * iw.shape[1]))
        for s in range(0, nq, block):
            e = min(s + block, nq)
            x = np.bitwise_count(qw[s:e, None, :] ^ iw[None, :, :]).sum(axis=2, dtype=np.int32)
            kth = np.partition(x, k - 1, axis=1)[:, k - 1 : k]
            less = x < kth
            need = k - less.sum(axis=1, keepdims=True)
            eq = x == kth
            take = less | (eq & (np.cumsum(eq, axis=1) <= need))
            cols = np.nonzero(take)[1].reshape(e - s, k)  # ascending index in each row
            dsel = np.take_along_axis(x, cols, axis=1)
            o = np.argsort(dsel, axis=1, kind="stable")
            out_i[s:e] = np.take_along_axis(cols, o, axis=1)
            out_d[s:e] = np.take_along_axis(dsel, o, axis=1)
        return out_i, out_d

    def range(self, queries: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR hits within ``radius``, sorted by (distance, index) in each query."""
        nq = len(queries)
        if len(self.u8) == 0 or nq == 0 or radius < 0:
            return np.zeros(nq + 1, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
        if self.faiss is None:
            q, j, d = _scan_join(self.u8, queries, radius, None)
            return _csr(nq, q, j, d)
        with _threads(self.faiss, nq):
            lims, dist, lab = self.flat.range_search(queries, int(radius) + 1)
        lims = lims.astype(np.int64)
        q = np.repeat(np.arange(nq), np.diff(lims))
        order = np.lexsort((lab, dist, q))
        return lims, lab[order].astype(np.int64), dist[order].astype(np.int32)


def knn(
    index_codes: Any, query_codes: Any, k: int, *, use_faiss: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest index rows of each query: ``(nq, k)`` indices and distances.

    Sorted by (distance, index): ties go to the lower index. Padded with -1 when the
    index holds fewer than ``k`` codes.
    """
    index = codes_to_uint8(index_codes)
    queries = codes_to_uint8(query_codes)
    _check_width(index, queries)
    return _Flat(index, faiss_module(use_faiss)).knn(queries, int(k))


class HammingIndex:
    """A mutable set of codes with integer ids: add, remove, k-nearest, radius, save/load.

    Backed by a faiss ``IndexBinaryFlat`` over the rows (rebuilt lazily after removals)
    when faiss is importable, else numpy; ids live in a parallel array, so ties break by
    insertion order.
    """

    _FORMAT = 1

    def __init__(self, nbits: int | None = None, *, use_faiss: bool | None = None) -> None:
        if nbits is not None and nbits % 8:
            raise UsageError("nbits must be a multiple of 8")
        self.nbits = nbits
        self._faiss = faiss_module(use_faiss)
        self._codes = np.empty((0, (nbits or 0) // 8), np.uint8)
        self._ids = np.empty(0, np.int64)
        self._backend: _Flat | None = None

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        """The ids in insertion order (a copy)."""
        return self._ids.copy()

    def add(self, codes: Any, ids: Any = None) -> np.ndarray:
        """Add codes with ids (default: consecutive after the largest id); returns the ids."""
        u8 = codes_to_uint8(codes)
        if self.nbits is None:
            self.nbits = u8.shape[1] * 8
            self._codes = np.empty((0, u8.shape[1]), np.uint8)
        if u8.shape[1] * 8 != self.nbits:
            raise UsageError(f"index holds {self.nbits}-bit codes, got {u8.shape[1] * 8}-bit")
        if ids is None:
            first = int(self._ids.max()) + 1 if len(self._ids) else 0
            new_ids = np.arange(first, first + len(u8), dtype=np.int64)
        else:
            new_ids = np.asarray(ids, dtype=np.int64).reshape(-1)
            if len(new_ids) != len(u8):
                raise UsageError(f"{len(u8)} codes but {len(new_ids)} ids")
            if len(np.unique(new_ids)) != len(new_ids) or np.isin(new_ids, self._ids).any():
                raise UsageError("ids must be unique and not already in the index")
        self._codes = np.concatenate([self._codes, u8])
        self._ids = np.concatenate([self._ids, new_ids])
        if self._backend is not None and self._backend._flat is not None:
            self._backend._flat.add(u8)  # append in place, positions stay aligned
            self._backend.u8 = self._codes
            self._backend._words = None
            self._backend._sub = None
        else:
            self._backend = None
        return new_ids

    def remove(self, ids: Any) -> int:
        """Remove the given ids (unknown ids are ignored); returns how many were removed."""
        drop = np.isin(self._ids, np.asarray(ids, dtype=np.int64).reshape(-1))
        removed = int(drop.sum())
        if removed:
            self._codes = self._codes[~drop]
            self._ids = self._ids[~drop]
            self._backend = None
        return removed

    def _flat(self) -> _Flat:
        if self._backend is None:
            self._backend = _Flat(self._codes, self._faiss)
        return self._backend

    def _queries(self, query_codes: Any) -> np.ndarray:
        q = codes_to_uint8(query_codes)
        if self.nbits is not None and q.shape[1] * 8 != self.nbits:
            raise UsageError(f"index holds {self.nbits}-bit codes, got {q.shape[1] * 8}-bit")
        return q

    def search(self, query_codes: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(nq, k)`` ids and distances of the nearest codes; -1 pads missing results."""
        pos, dist = self._flat().knn(self._queries(query_codes), int(k))
        ids = np.where(pos >= 0, self._ids[np.maximum(pos, 0)] if len(self._ids) else -1, -1)
        return ids, dist

    def range(self, query_codes: Any, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR ``(lims, ids, distances)`` of all codes within ``radius`` of each query."""
        lims, pos, dist = self._flat().range(self._queries(query_codes), int(radius))
        return lims, self._ids[pos], dist

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to ``path`` (.npz) atomically: a temporary file, then ``os.replace``."""
        with atomic_write(path, "wb") as fh:
            np.savez(
                fh,
                format=np.int64(self._FORMAT),
                nbits=np.int64(self.nbits or 0),
                codes=self._codes,
                ids=self._ids,
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, use_faiss: bool | None = None) -> HammingIndex:
        """Read an index written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                fmt = int(data["format"])
                nbits = int(data["nbits"])
                codes = np.ascontiguousarray(data["codes"], dtype=np.uint8)
                ids = np.asarray(data["ids"], dtype=np.int64)
        except FileNotFoundError as exc:
            raise CollectionError(path, "no Hamming index at this path") from exc
        except (OSError, KeyError, ValueError) as exc:
            raise CollectionError(path, f"not a readable Hamming index ({exc})") from exc
        if fmt != cls._FORMAT or codes.ndim != 2 or len(codes) != len(ids):
            raise CollectionError(path, "unsupported or inconsistent Hamming index file")
        index = cls(nbits or None, use_faiss=use_faiss)
        if nbits and codes.shape[1] * 8 != nbits:
            raise CollectionError(path, "code width does not match the stored bit count")
        index._codes = codes
        index._ids = ids
        return index
