"""Search speed of the collection's index backends (prints figures and ratios, no asserts).

1. Embedded default (FAISS binary flat via HammingIndex): top-20 over 1,000,000 random
   64-bit codes, one query at a time as `lookalike search` does it (the query's 8
   rotated / mirrored codes in one call, and a single plain code), p50 / p99 per query.
   Query decoding is excluded. Target: p50 < 10 ms.
2. Milvus Lite beside the embedded default on the same 100,000 codes: insert time and
   top-20 query p50 (skipped when pymilvus / milvus-lite are not installed).

    .venv/bin/python bench/search_speed.py [--n 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from lookalike.store.embedded_index import EmbeddedIndex


def _timed(fn, queries: list[np.ndarray]) -> np.ndarray:
    """Seconds per call of fn(q) for each query (after one warm-up call)."""
    fn(queries[0])
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append(time.perf_counter() - t)
    return np.array(out)


def _report(label: str, secs: np.ndarray) -> float:
    p50, p99 = np.percentile(secs, 50) * 1e3, np.percentile(secs, 99) * 1e3
    print(f"  {label:<44} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms")
    return p50


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--milvus-n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(2024)
    codes = rng.integers(0, 256, (args.n, 8), dtype=np.uint8)
    ids = np.arange(args.n, dtype=np.int64)
    # queries near indexed codes (a few bits off), 8 codes each like a phash8 query
    picks = rng.integers(0, args.n, args.queries)
    queries = [
        np.ascontiguousarray(
            np.concatenate([codes[i : i + 1], rng.integers(0, 256, (7, 8), dtype=np.uint8)])
        )
        for i in picks
    ]
    for q in queries:
        q[0, rng.integers(0, 8)] ^= np.uint8(1 << int(rng.integers(0, 8)))

    print(f"embedded FAISS backend, {args.n:,} codes, top-{args.k}")
    with tempfile.TemporaryDirectory() as tmp:
        index = EmbeddedIndex(tmp)
        t = time.perf_counter()
        index.add(ids, codes)
        index.commit({})
        print(f"  add + atomic save: {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        index = EmbeddedIndex(tmp)
        print(f"  load: {time.perf_counter() - t:.2f} s")
        p8 = _report(
            "8 codes per query (search, rotations)",
            _timed(lambda q: index.search(q, args.k), queries),
        )
        p1 = _report("1 code per query", _timed(lambda q: index.search(q[:1], args.k), queries))
        print(
            f"  target p50 < 10 ms: {'met' if p8 < 10 else 'NOT met'} "
            f"({p8 / 10:.2f}x the target; 8 codes cost {p8 / p1:.1f}x one)"
        )

    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        print("Milvus Lite: not installed (pip install 'lookalike[milvus]'), skipped")
        return
    from lookalike.store.milvus_index import MilvusIndex

    n = args.milvus_n
    sub = queries[: min(50, len(queries))]
    sub = [
        np.where(np.arange(8)[:, None] == 0, codes[p % n], q)
        for p, q in zip(picks, sub, strict=False)
    ]
    sub = [np.ascontiguousarray(q.astype(np.uint8)) for q in sub]
    print(f"\nMilvus Lite vs embedded FAISS, {n:,} codes, top-{args.k}, {len(sub)} queries")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        fi = EmbeddedIndex(tmp)
        fi.add(ids[:n], codes[:n])
        fi.commit({})
        f_ins = time.perf_counter() - t
        t = time.perf_counter()
        mi = MilvusIndex(tmp)
        mi.add(ids[:n], codes[:n])
        mi.commit({})
        m_ins = time.perf_counter() - t
        print(f"  insert: FAISS {f_ins:.2f} s, Milvus Lite {m_ins:.2f} s ({m_ins / f_ins:.0f}x)")
        f8 = _report("FAISS, 8 codes per query", _timed(lambda q: fi.search(q, args.k), sub))
        m8 = _report("Milvus Lite, 8 codes per query", _timed(lambda q: mi.search(q, args.k), sub))
        m1 = _report(
            "Milvus Lite, 1 code per query", _timed(lambda q: mi.search(q[:1], args.k), sub)
        )
        same = np.mean(
            [np.array_equal(fi.search(q, args.k)[1], mi.search(q, args.k)[1]) for q in sub[:10]]
        )
        print(
            f"  Milvus Lite / FAISS query p50: {m8 / f8:.0f}x; 1 code {m1:.1f} ms; "
            f"same distances on {same:.0%} of queries"
        )
        mi.close()


if __name__ == "__main__":
    main()
