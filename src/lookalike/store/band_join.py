"""All close pairs of 64-bit codes as a band join whose partitions run on separate workers.

The cluster form of :func:`~lookalike.store.hamming.neighbour_pairs`: the work is cut into
partitions that share nothing, so each can run on its own node (Ray, Spark, Dask: any
engine that maps over files), and the skew of real collections never multiplies pairs.

1. **Identical codes** are summarised first (a group-by on the code): one representative
   (the first row) per distinct code; blank scans that share one code cost one row.
2. **Map**: the 64 bits are cut into ``b`` bands. By the pigeonhole principle two codes
   within ``radius`` agree within ``t = ceil((radius + 1) / b) - 1`` bits on some band
   (multi-index hashing: Norouzi, Punjani and Fleet, CVPR 2012), so with ``t = 0`` pairs
   that share a band value are the candidates, and with ``t > 0`` a code also probes the
   band values within ``t`` flips of its own. Each band's values are partitioned by their
   top ``prefix_bits``; a code is sent to its own partition (as an *index* row) and to
   the partitions whose prefix is within ``t`` flips (as a *probe* row), so every
   candidate pair meets in exactly the partitions that own the shared value. Rows are
   written as Parquet files ``band=B/part=P/chunk=C.parquet`` (the shuffle).
3. **Reduce**, per partition: index rows sorted by band value; each probe row looks up
   its band value with the remaining low-bit flips; candidates are verified with the
   exact Hamming distance. A band value held by more than ``cap`` index rows (a cluster
   of near-identical codes) is never expanded into all its pairs: its rows go through
   :func:`~lookalike.store.hamming.neighbour_search` (``k`` nearest plus a spanning
   forest), which keeps every pair within ``radius`` connected with O(rows * k) links.
4. **Groups**: the links of all partitions, joined by connected components, give each row
   its group (the lowest row of the group) — exactly the components of the radius graph.

The cost is the candidates a band lets through: about ``n * sum(C(w - prefix, i), i <= t)
* n / 2**w`` per band of ``w`` bits for random codes, so the bands must stay wide
(``w >= log2(n)``): 2 bands of 32 bits are exact up to radius 3 (``t = 1``) and nearly
free at 10M codes; radius 5 needs 3 bands of ~21 bits, ~100x the verifications.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from math import ceil
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lookalike.errors import UsageError, require
from lookalike.store.hamming import NEIGHBOURS, neighbour_search

__all__ = [
    "BandPlan",
    "JoinResult",
    "PartitionStats",
    "band_join",
    "join_partition",
    "map_partitions",
    "read_partition",
    "reduce_task",
    "write_shard",
]

#: Index rows per band value beyond which a bucket goes through the capped join.
CAP = 64
_CHUNK = 2_000_000  # distinct codes per map task
_PROBE_BLOCK = 4_000_000  # probe keys looked up at once in a partition


def _masks(bits: int, most: int) -> np.ndarray:
    """Every ``bits``-bit mask with at most ``most`` set bits (uint64), fewest first."""
    out = [0]
    for f in range(1, min(most, bits) + 1):
        for combo in itertools.combinations(range(bits), f):
            out.append(sum(1 << b for b in combo))
    return np.array(out, dtype=np.uint64)


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x).astype(np.int64)


@dataclass(frozen=True)
class BandPlan:
    """Bands ``(shift, width)`` of a 64-bit code, flips per band ``t``, partition bits."""

    radius: int
    bands: tuple[tuple[int, int], ...]
    flips: int
    prefix_bits: int

    @classmethod
    def for_radius(cls, radius: int, bands: int = 2, prefix_bits: int = 4) -> BandPlan:
        """Split 64 bits into ``bands`` near-equal bands; ``t`` from the pigeonhole bound."""
        if radius < 0 or not 1 <= bands <= 64:
            raise UsageError("radius must be >= 0 and bands between 1 and 64")
        widths = [64 // bands + (i < 64 % bands) for i in range(bands)]
        if min(widths) <= prefix_bits:
            raise UsageError(f"bands of {min(widths)} bits cannot have {prefix_bits} prefix bits")
        shifts = [64 - sum(widths[: i + 1]) for i in range(bands)]
        flips = ceil((radius + 1) / bands) - 1
        return cls(radius, tuple(zip(shifts, widths, strict=True)), flips, prefix_bits)

    @property
    def partitions(self) -> int:
        """Partitions per band."""
        return 1 << self.prefix_bits

    def value(self, band: int, codes: np.ndarray) -> np.ndarray:
        """The band's value of each code (uint64)."""
        shift, width = self.bands[band]
        return (codes >> np.uint64(shift)) & np.uint64((1 << width) - 1)

    def low_bits(self, band: int) -> int:
        return self.bands[band][1] - self.prefix_bits


def map_partitions(
    codes: np.ndarray, rows: np.ndarray, plan: BandPlan
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """One map task: ``(band, partition, rows, codes)`` for every partition these rows reach.

    A row goes to its own partition and to those whose prefix is within ``plan.flips``
    flips of its own (probe rows; the reducer tells them apart by the prefix).
    """
    prefix_masks = _masks(plan.prefix_bits, plan.flips)
    for band in range(len(plan.bands)):
        own = plan.value(band, codes) >> np.uint64(plan.low_bits(band))
        part = (own[:, None] ^ prefix_masks[None, :]).ravel()
        order = np.argsort(part, kind="stable")
        src = order // len(prefix_masks)
        bounds = np.searchsorted(part[order], np.arange(plan.partitions + 1, dtype=np.uint64))
        for p in range(plan.partitions):
            sel = src[bounds[p] : bounds[p + 1]]
            if len(sel):
                yield band, p, rows[sel], codes[sel]


@dataclass
class PartitionStats:
    """What one reduce task did: rows in, candidates verified, links out, seconds."""

    band: int
    part: int
    rows: int
    index_rows: int
    candidates: int
    capped_buckets: int
    links: int
    seconds: float
    cpu_seconds: float


def join_partition(
    band: int,
    part: int,
    rows: np.ndarray,
    codes: np.ndarray,
    plan: BandPlan,
    *,
    cap: int = CAP,
    k: int = NEIGHBOURS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, PartitionStats]:
    """One reduce task: links ``(row, row, distance)`` within ``plan.radius`` found here.

    Every pair within the radius whose shared band value this partition owns ends up
    connected by the links of some partition (directly, or through a capped bucket's
    k nearest and spanning forest).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    low = plan.low_bits(band)
    value = plan.value(band, codes)
    f = _popcount((value >> np.uint64(low)) ^ np.uint64(part))  # prefix flips used
    is_index = f == 0
    ikey = value[is_index]
    order = np.argsort(ikey, kind="stable")
    ikey, irows, icodes = ikey[order], rows[is_index][order], codes[is_index][order]
    ukey, ustart, ucount = np.unique(ikey, return_index=True, return_counts=True)
    if len(ukey) == 0:
        ukey, ustart, ucount = np.zeros(1, np.uint64), np.zeros(1, np.int64), np.zeros(1, np.int64)
    links_a: list[np.ndarray] = []
    links_b: list[np.ndarray] = []
    links_d: list[np.ndarray] = []
    candidates = 0
    big_hits: list[tuple[np.ndarray, np.ndarray]] = []  # (probe position, index start)
    base = np.uint64(part) << np.uint64(low)
    for used in range(plan.flips + 1):
        probe = np.flatnonzero(f == used)
        if len(probe) == 0:
            continue
        masks = _masks(low, plan.flips - used)
        # the probe's own low bits under this partition's prefix, then its low flips
        own_low = value[probe] & np.uint64((1 << low) - 1)
        step = max(1, _PROBE_BLOCK // len(masks))
        for s in range(0, len(probe), step):
            pos = probe[s : s + step]
            keys = ((base | own_low[s : s + step])[:, None] ^ masks[None, :]).ravel()
            who = np.repeat(pos, len(masks))
            at = np.minimum(np.searchsorted(ukey, keys), len(ukey) - 1)  # one lookup
            hit = ukey[at] == keys
            lo = np.where(hit, ustart[at], 0)
            n_hit = np.where(hit, ucount[at], 0)
            big = n_hit > cap
            if big.any():
                big_hits.append((who[big], lo[big]))
            small = (n_hit > 0) & ~big
            who, lo, n_hit = who[small], lo[small], n_hit[small]
            total = int(n_hit.sum())
            candidates += total
            if total == 0:
                continue
            a = np.repeat(who, n_hit)
            b = np.repeat(lo - np.cumsum(n_hit) + n_hit, n_hit) + np.arange(total)
            d = _popcount(codes[a] ^ icodes[b])
            ra, rb = rows[a], irows[b]
            keep = (d <= plan.radius) & (ra < rb)  # each unordered pair once per bucket
            links_a.append(ra[keep])
            links_b.append(rb[keep])
            links_d.append(d[keep])
    capped = 0
    if big_hits:
        who = np.concatenate([w for w, _ in big_hits])
        start = np.concatenate([s for _, s in big_hits])
        order = np.argsort(start, kind="stable")
        who, start = who[order], start[order]
        cut = np.flatnonzero(np.diff(start)) + 1
        for w, at in zip(np.split(who, cut), np.split(start, cut), strict=True):
            b0 = int(at[0])
            b1 = int(np.searchsorted(ikey, ikey[b0], "right"))
            capped += 1
            candidates += len(w) * (b1 - b0)
            q, j, d = neighbour_search(
                icodes[b0:b1].view(np.uint8).reshape(-1, 8),  # byte order: same both sides
                codes[w].view(np.uint8).reshape(-1, 8),
                plan.radius,
                max_neighbours=k,
            )
            ra, rb = rows[w][q], irows[b0:b1][j]
            keep = ra != rb
            links_a.append(ra[keep])
            links_b.append(rb[keep])
            links_d.append(d[keep].astype(np.int64))
    a = np.concatenate(links_a) if links_a else np.empty(0, np.int64)
    b = np.concatenate(links_b) if links_b else np.empty(0, np.int64)
    d = np.concatenate(links_d) if links_d else np.empty(0, np.int64)
    stats = PartitionStats(
        band,
        part,
        len(rows),
        int(is_index.sum()),
        candidates,
        capped,
        len(a),
        time.perf_counter() - t0,
        time.process_time() - c0,
    )
    return a, b, d.astype(np.int32), stats


@dataclass
class JoinResult:
    """Groups of a band join: ``group[row]`` is the lowest row of the row's group.

    ``links``: the verified ``(row, row, distance)`` links between distinct codes'
    representatives (O(n * k), never all pairs); ``partitions``: one
    :class:`PartitionStats` per reduce task; ``distinct``: distinct codes joined.
    """

    group: np.ndarray
    links: tuple[np.ndarray, np.ndarray, np.ndarray]
    distinct: int
    partitions: list[PartitionStats] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def write_shard(
    root: str | os.PathLike[str], band: int, part: int, chunk: int, rows: Any, codes: Any
) -> Path:
    """Write one map task's rows for one partition: ``ROOT/band=B/part=P/chunk=C.parquet``."""
    pa = require("pyarrow", "parquet")
    pq = require("pyarrow.parquet", "parquet")
    path = Path(root) / f"band={band}" / f"part={part}" / f"chunk={chunk}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"row": rows, "code": codes}), path, compression="none")
    return path


def read_partition(
    root: str | os.PathLike[str], band: int, part: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every map task's rows for one partition: ``(rows int64, codes uint64)``."""
    pq = require("pyarrow.parquet", "parquet")
    files = sorted((Path(root) / f"band={band}" / f"part={part}").glob("*.parquet"))
    tables = [pq.read_table(p) for p in files]
    if not tables:
        return np.empty(0, np.int64), np.empty(0, np.uint64)
    rows = np.concatenate([t.column("row").to_numpy() for t in tables])
    codes = np.concatenate([t.column("code").to_numpy() for t in tables])
    return rows.astype(np.int64), codes.astype(np.uint64)


def reduce_task(
    root: str | os.PathLike[str], band: int, part: int, plan: BandPlan, cap: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, PartitionStats]:
    """A whole reduce task from its Parquet files: what a worker process or node runs."""
    rows, codes = read_partition(root, band, part)
    return join_partition(band, part, rows, codes, plan, cap=cap, k=k)


def band_join(
    codes: np.ndarray,
    radius: int,
    *,
    bands: int = 2,
    prefix_bits: int = 4,
    cap: int = CAP,
    k: int = NEIGHBOURS,
    workdir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
) -> JoinResult:
    """Group 64-bit ``codes`` ((n,) uint64) so that any two within ``radius`` share a group.

    Runs the map, shuffle and reduce steps of the module docstring in this process, one
    partition at a time; with ``workdir`` the shuffle goes through Parquet files there
    (as it would between nodes), else it stays in memory. ``jobs > 1`` (with ``workdir``)
    runs the reduce tasks in that many worker processes, each reading only its partition's
    files.
    """
    t = time.perf_counter()
    codes = np.ascontiguousarray(codes, dtype=np.uint64)
    plan = BandPlan.for_radius(radius, bands, prefix_bits)
    n = len(codes)
    seconds: dict[str, float] = {}
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    seconds["distinct"] = time.perf_counter() - t
    t = time.perf_counter()
    shuffle: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]] = {}
    folder = Path(workdir) if workdir is not None else None
    for c, s in enumerate(range(0, len(uniq), _CHUNK)):
        task = map_partitions(uniq[s : s + _CHUNK], first[s : s + _CHUNK], plan)
        for band, part, r, cd in task:
            if folder is None:
                shuffle.setdefault((band, part), []).append((r, cd))
            else:
                write_shard(folder, band, part, c, r, cd)
    seconds["map"] = time.perf_counter() - t
    t = time.perf_counter()
    stats: list[PartitionStats] = []
    la: list[np.ndarray] = []
    lb: list[np.ndarray] = []
    ld: list[np.ndarray] = []
    tasks = [(b, p) for b in range(len(plan.bands)) for p in range(plan.partitions)]
    if folder is None:
        results = []
        for band, part in tasks:
            got = shuffle.pop((band, part), [])
            if got:
                rows = np.concatenate([r for r, _ in got])
                pcodes = np.concatenate([c for _, c in got])
                results.append(join_partition(band, part, rows, pcodes, plan, cap=cap, k=k))
    else:
        tasks = [(b, p) for b, p in tasks if (folder / f"band={b}" / f"part={p}").exists()]
        if jobs > 1:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(reduce_task, folder, b, p, plan, cap, k) for b, p in tasks]
                results = [f.result() for f in futures]
        else:
            results = [reduce_task(folder, b, p, plan, cap, k) for b, p in tasks]
    for a, b, d, st in results:
        stats.append(st)
        la.append(a)
        lb.append(b)
        ld.append(d)
    seconds["reduce"] = time.perf_counter() - t
    t = time.perf_counter()
    a = np.concatenate(la) if la else np.empty(0, np.int64)
    b = np.concatenate(lb) if lb else np.empty(0, np.int64)
    d = np.concatenate(ld) if ld else np.empty(0, np.int32)
    lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
    _, pick = np.unique(lo_ * max(n, 1) + hi_, return_index=True)  # once, not once per band
    a, b, d = lo_[pick], hi_[pick], d[pick]
    rep = first[inverse]  # identical codes: the representative row
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    low = np.full(label.max() + 1 if n else 0, n, np.int64)
    np.minimum.at(low, label[first], first)
    group = low[label[rep]]
    seconds["groups"] = time.perf_counter() - t
    return JoinResult(group, (a, b, d), len(uniq), stats, seconds)
