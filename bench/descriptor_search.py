"""Learned-descriptor search by backend: query latency of the embed candidates, in one run.

    python bench/descriptor_search.py [--sizes 10000,100000] [--dim 256] [--queries 50]

A collection with the learned layer asks, per query, for the 16 stored descriptors
nearest by inner product (``Collection._embed_candidates``). Each backend answers on the
same unit vectors (Gaussian, normalised; an exact scan costs the same whatever their
distribution) with the same queries (stored vectors plus noise, so each has a true
nearest neighbour):

* ``memory``: the embedded backend's path, a numpy product with every row held in memory
  (the collection reads them from its catalog; it stops above 100,000 rows);
* ``faiss``: FAISS ``IndexFlatIP`` (exact), for reference;
* ``milvus-lite``: :class:`~lookalike.store.milvus_index.MilvusVectors` on a Milvus Lite
  file (FLAT, exact), the collection's ``milvus`` backend;
* ``postgres``: :class:`~lookalike.store.postgres_index.PostgresVectors`, pgvector's exact
  scan (``ORDER BY v <#> q``) on a throwaway PostgreSQL 18 on 127.0.0.1;
* ``postgres-hnsw``: the same table with an HNSW index (``vector_ip_ops``), approximate.

Printed per backend and size: the time to load the rows, query p50 and p99 (one query at a
time, as a search does), and recall@16 against the exact answer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lookalike.store.hamming import faiss_module  # noqa: E402
from lookalike.store.local_postgres import LocalPostgres  # noqa: E402
from lookalike.store.milvus_index import MilvusVectors  # noqa: E402
from lookalike.store.postgres_index import PostgresVectors  # noqa: E402
from lookalike.store.vectors import knn_ip  # noqa: E402

K = 16


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _measure(search: Any, queries: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """p50 and p99 (ms) of one-query searches, and recall@K against ``truth``."""
    times, hits = [], 0
    for q, want in zip(queries, truth, strict=True):
        t0 = time.perf_counter()
        got = search(q[None, :])
        times.append(time.perf_counter() - t0)
        hits += len(set(got.tolist()) & set(want.tolist()))
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), hits / truth.size


def _one_size(n: int, dim: int, nq: int, rng: np.random.Generator, tmp: str, pg_uri: str) -> None:
    """Every backend's rows for ``n`` stored descriptors."""
    base = _unit(rng, n, dim)
    ids = np.arange(n, dtype=np.int64)
    picks = rng.choice(n, nq, replace=False)
    queries = base[picks] + 0.05 * _unit(rng, nq, dim)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = knn_ip(base, queries, K, use_faiss=False)[1]

    def row(name: str, load: float, search: Any) -> None:
        p50, p99, recall = _measure(search, queries, truth)
        print(f"| {n:,} | {name} | {load:.1f} | {p50:.2f} | {p99:.2f} | {recall:.3f} |")
        sys.stdout.flush()

    row("memory", 0.0, lambda q: knn_ip(base, q, K, use_faiss=False)[1][0])
    faiss = faiss_module(True)
    if faiss is not None:
        t0 = time.perf_counter()
        flat = faiss.IndexFlatIP(dim)
        flat.add(base)
        row("faiss", time.perf_counter() - t0, lambda q: flat.search(q, K)[1][0])
    t0 = time.perf_counter()
    (Path(tmp) / f"m{n}").mkdir()
    milvus = MilvusVectors(Path(tmp) / f"m{n}", dim=dim)
    milvus.add(ids, base)
    milvus.commit({})
    row("milvus-lite", time.perf_counter() - t0, lambda q: milvus.search(q, K)[0][0])
    milvus.close()
    t0 = time.perf_counter()
    table = PostgresVectors(pg_uri, dim=dim, name=f"b{n}")
    table.add(ids, base)
    table.commit({})
    row("postgres", time.perf_counter() - t0, lambda q: table.search(q, K)[0][0])
    table.close()
    t0 = time.perf_counter()  # the HNSW index is built over the rows already there
    hnsw = PostgresVectors(pg_uri, dim=dim, name=f"b{n}", approximate=True)
    row("postgres-hnsw", time.perf_counter() - t0, lambda q: hnsw.search(q, K)[0][0])
    hnsw.drop()
    hnsw.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--queries", type=int, default=50)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"| rows | backend | load (s) | query p50 (ms) | query p99 (ms) | recall@{K} |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp, LocalPostgres() as pg:
        for n in [int(x) for x in args.sizes.split(",")]:
            _one_size(n, args.dim, args.queries, rng, tmp, pg.uri)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
