"""The band join against a brute-force oracle on small skewed codes: its groups are exactly
the connected components of the radius graph, through Parquet or in memory, with or without
capped buckets, and identical codes never expanded into their pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lookalike.store.band_join import BandPlan, band_join


def skewed_codes(n: int, seed: int) -> np.ndarray:
    """Random codes with 10% blank (one code), 6 bursts of 60 codes 0-4 bits off a centre,
    and pairs exactly 3, 4, 5 and 6 bits apart (the radius boundaries)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2**64, n, dtype=np.uint64)
    codes[: n // 10] = np.uint64(1 << 63)
    centres = rng.integers(0, 2**64, 6, dtype=np.uint64)
    burst = np.repeat(centres, 60)
    for _ in range(4):
        bit = rng.integers(0, 64, len(burst)).astype(np.uint64)
        burst ^= np.where(rng.random(len(burst)) < 0.7, np.uint64(1) << bit, np.uint64(0))
    s = n // 10
    codes[s : s + len(burst)] = burst
    s += len(burst)
    for d in (3, 4, 5, 6):
        for _ in range(5):
            flip = rng.choice(64, d, replace=False)
            codes[s + 1] = codes[s] ^ np.uint64(sum(1 << int(b) for b in flip))
            s += 2
    return codes[rng.permutation(n)]


def oracle_groups(codes: np.ndarray, radius: int) -> np.ndarray:
    """The lowest row of each row's component of the brute-force radius graph."""
    n = len(codes)
    d = np.bitwise_count(codes[:, None] ^ codes[None, :])
    i, j = np.nonzero(np.triu(d <= radius, 1))
    _, label = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)))
    low = np.full(label.max() + 1, n)
    np.minimum.at(low, label, np.arange(n))
    return low[label]


@pytest.mark.parametrize(
    ("radius", "bands", "cap"), [(3, 2, 64), (3, 2, 3), (5, 3, 64), (5, 3, 2), (2, 1, 8)]
)
def test_band_join_groups_are_the_radius_components(radius: int, bands: int, cap: int) -> None:
    codes = skewed_codes(2000, seed=radius * 10 + cap)
    got = band_join(codes, radius, bands=bands, cap=cap, k=4)
    assert np.array_equal(got.group, oracle_groups(codes, radius))
    a, b, d = got.links
    assert (np.bitwise_count(codes[a] ^ codes[b]) == d).all() and (d <= radius).all()
    assert got.distinct < len(codes) - 190  # the 200 blanks are one distinct code
    assert len(a) < 19_900  # never the pairs of the 200 blanks
    if cap < 60 and bands > 1:  # bursts capped: O(n * k) links, not their ~10,000 pairs
        assert sum(p.capped_buckets for p in got.partitions) > 0 and len(a) < 3 * len(codes)


def test_band_join_through_parquet_equals_in_memory(tmp_path: Path) -> None:
    codes = skewed_codes(3000, seed=1)
    here = band_join(codes, 3, cap=4)
    there = band_join(codes, 3, cap=4, workdir=tmp_path / "one")
    apart = band_join(codes, 3, cap=4, workdir=tmp_path / "two", jobs=2)  # 2 worker processes
    assert np.array_equal(here.group, there.group) and np.array_equal(here.group, apart.group)
    files = list((tmp_path / "one").glob("band=*/part=*/chunk=*.parquet"))
    assert len({f.parent for f in files}) == len(there.partitions) == 2 * 16


def test_band_plan_pigeonhole() -> None:
    plan = BandPlan.for_radius(5, bands=3)
    assert [w for _, w in plan.bands] == [22, 21, 21] and plan.flips == 1
    assert BandPlan.for_radius(3, bands=2).flips == 1
    assert BandPlan.for_radius(1, bands=2).flips == 0
