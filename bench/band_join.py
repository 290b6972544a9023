"""Benchmark: the band join (store/band_join.py) over skewed 64-bit codes, per partition.

Prints figures, no assertions. The codes come from bench/skewed_pairs.py's generator (blank
scans sharing one code, bursts of near-identical codes). The join runs in a subprocess under
``RLIMIT_AS`` (``--limit-gb``) with its shuffle written as Parquet partitions to a temporary
folder, as between nodes. Printed: time of each step, peak memory (peak RSS less the RSS
once the codes are made), distinct codes, links, groups, and each reduce partition's rows,
candidates and rate, from which the per-node time is extrapolated (partitions share
nothing, so P nodes take about the slowest 1/P of the reduce work; the map and the
identical-code group-by are as parallel as the input files).

Run: ``.venv/bin/python bench/band_join.py [--size 10M] [--radius 3] [--bands 2]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from skewed_pairs import SIZES, _rss_kb, make_codes


def worker(args: argparse.Namespace) -> None:
    """The join in this process under the memory limit; one JSON line."""
    from lookalike.store.band_join import band_join

    codes = make_codes(*SIZES[args.size])
    base_kb = _rss_kb()
    limit = int(args.limit_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    t = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        got = band_join(
            codes, args.radius, bands=args.bands, cap=args.cap, k=args.k,
            workdir=None if args.memory else tmp, jobs=args.jobs,
        )  # fmt: skip
        shuffle_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*.parquet")) / 2**20
    seconds = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb, cpu_seconds = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu0
    _, sizes = np.unique(got.group, return_counts=True)
    print(json.dumps({
        "seconds": seconds, "cpu_seconds": cpu_seconds, "steps": got.seconds,
        "peak_mb": (peak_kb - base_kb) / 1024,
        "distinct": got.distinct, "links": len(got.links[0]), "shuffle_mb": shuffle_mb,
        "groups_2plus": int((sizes > 1).sum()), "largest_group": int(sizes.max()),
        "rows_grouped": int(sizes[sizes > 1].sum()),
        "partitions": [p.__dict__ for p in got.partitions],
    }))  # fmt: skip


def one_partition(args: argparse.Namespace) -> None:
    """The memory and CPU of one reduce task alone (what a worker needs), by tracemalloc."""
    import gc
    import tracemalloc

    from lookalike.store.band_join import BandPlan, join_partition, map_partitions

    codes = np.unique(make_codes(*SIZES[args.size]))
    plan = BandPlan.for_radius(args.radius, args.bands)
    task = None
    for band, part, rows, pcodes in map_partitions(codes, np.arange(len(codes)), plan):
        if band == 0 and part == 5:
            task = (rows.copy(), pcodes.copy())
    del codes
    gc.collect()
    assert task is not None
    tracemalloc.start()
    t = time.process_time()
    a, _, _, _ = join_partition(0, 5, *task, plan, cap=args.cap, k=args.k)
    peak = tracemalloc.get_traced_memory()[1]
    print(
        f"  one reduce task (band 0, partition 5): {len(task[0]):,} rows "
        f"({(task[0].nbytes + task[1].nbytes) / 2**20:.0f} MB in), peak {peak / 2**20:.0f} MB "
        f"of numpy arrays, {time.process_time() - t:.1f} CPU-seconds, {len(a):,} links"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="10M")
    ap.add_argument("--radius", type=int, default=3)
    ap.add_argument("--bands", type=int, default=2)
    ap.add_argument("--cap", type=int, default=64)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--limit-gb", type=float, default=8.0)
    ap.add_argument("--memory", action="store_true", help="shuffle in memory, not Parquet")
    ap.add_argument("--workdir", default=None, help="where the Parquet shuffle goes")
    ap.add_argument(
        "--jobs", type=int, default=1, help="reduce worker processes (CPU time: the driver only)"
    )
    ap.add_argument("--one-partition", action="store_true", help="one reduce task's memory")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    if args.one_partition:
        one_partition(args)
        return
    n, blank, clusters, members = SIZES[args.size]
    print(
        f"band join: n={n:,}, {blank:.0%} blank (one code), {clusters} bursts of {members}, "
        f"radius {args.radius}, {args.bands} bands, cap {args.cap}, k={args.k}, "
        f"limit {args.limit_gb:g} GB"
    )
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", *sys.argv[1:]],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        print(f"  did not finish (exit {proc.returncode}): {proc.stderr.strip()[-600:]}")
        return
    r = json.loads(lines[-1])
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in r["steps"].items())
    print(
        f"  total {r['seconds']:.1f} s wall, {r['cpu_seconds']:.1f} CPU-seconds ({steps}); "
        f"peak +{r['peak_mb']:,.0f} MB"
    )
    print(
        f"  {r['distinct']:,} distinct codes, {r['links']:,} links, shuffle "
        f"{r['shuffle_mb']:,.0f} MB; {r['groups_2plus']:,} groups of 2+ holding "
        f"{r['rows_grouped']:,} rows, largest {r['largest_group']:,}"
    )
    parts = r["partitions"]
    secs = np.array([p["seconds"] for p in parts])
    rows = np.array([p["rows"] for p in parts])
    cands = np.array([p["candidates"] for p in parts])
    print(
        f"  {len(parts)} reduce partitions: rows {rows.min():,}-{rows.max():,}, candidates "
        f"{cands.sum():,} ({cands.max():,} max), capped buckets "
        f"{sum(p['capped_buckets'] for p in parts):,}"
    )
    cpu = np.array([p["cpu_seconds"] for p in parts])
    print(
        f"  per partition: {np.median(secs):.2f} s median, {secs.max():.2f} s max wall "
        f"({np.median(cpu):.2f} s median CPU); rate {np.median(rows / secs):,.0f} rows/s "
        f"median per core ({np.median(rows / cpu):,.0f} per CPU-second)"
    )
    total_reduce = secs.sum()
    per_code = (r["seconds"]) / n
    print(
        f"  one core: {per_code * 1e6:.2f} us per code all told; reduce {total_reduce:.1f} s "
        f"= {total_reduce / n * 1e6:.2f} us per code ({cpu.sum():.1f} CPU-seconds)"
    )
    for nodes in (8, 64):
        print(
            f"  extrapolated reduce on {nodes} single-core nodes: "
            f"~{max(total_reduce / nodes, secs.max()):.1f} s at this n"
        )


if __name__ == "__main__":
    sys.exit(main())
