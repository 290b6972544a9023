"""Benchmark: candidate pairs over skewed 64-bit hashes, capped join vs the exact one.

Prints figures and ratios (no assertions). Skewed collections are the hard case of an
all-pairs join: blank scans share one hash, photo bursts are hundreds of near-identical
hashes, and the exact pairs grow with the square of those groups. For each size:

1. ``neighbour_pairs`` (identical codes as stars, ``--k`` nearest per distinct code and a
   spanning forest): time, peak memory and pairs;
2. ``radius_pairs`` (every pair), where it fits: the same figures, and the ratios.

Each join runs in its own subprocess under ``RLIMIT_AS`` (``--limit-gb``), so one that
does not fit fails cleanly with a MemoryError instead of pushing the machine into swap.
Peak memory is the process's peak RSS less its RSS once the codes are made.

Default sizes: 100,000 codes (2% blank, 200 bursts of 50) where the exact join fits,
and 1,000,000 codes (2% blank, 200 bursts of 500); ``--big`` adds 10,000,000 codes
(5% blank, clusters of 1,000).

Run: ``.venv/bin/python bench/skewed_pairs.py [--k 32] [--limit-gb 8] [--big]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

RADIUS = 14  # the candidate radius of `lookalike dupes`

#: (n, blank fraction, number of clusters, cluster size)
SIZES = {
    "100k": (100_000, 0.02, 200, 50),
    "1M": (1_000_000, 0.02, 200, 500),
    "10M": (10_000_000, 0.05, 1000, 1000),
}


def make_codes(n: int, blank: float, clusters: int, size: int, seed: int = 0) -> np.ndarray:
    """Random codes, ``blank * n`` copies of one code, ``clusters`` bursts of ``size`` codes
    each within a few bits (0-4 flips) of its centre; shuffled."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2**64, size=n, dtype=np.uint64, endpoint=False)
    nb = int(n * blank)
    codes[:nb] = np.uint64(0x8000_0000_0000_0000)  # pHash of a flat picture: one bit set
    centres = rng.integers(0, 2**64, size=clusters, dtype=np.uint64, endpoint=False)
    burst = np.repeat(centres, size)
    for _ in range(4):  # up to four flipped bits
        bit = rng.integers(0, 64, len(burst)).astype(np.uint64)
        on = rng.random(len(burst)) < 0.7
        burst ^= np.where(on, np.uint64(1) << bit, np.uint64(0))
    codes[nb : nb + len(burst)] = burst
    return codes[rng.permutation(n)]


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def worker(kind: str, size: str, k: int, limit_gb: float) -> None:
    """One join in this process, limited to ``limit_gb``; prints one JSON line."""
    from lookalike.store.hamming import neighbour_pairs, radius_pairs

    codes = make_codes(*SIZES[size])
    base_kb = _rss_kb()
    limit = int(limit_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    t = time.perf_counter()
    try:
        if kind == "exact":
            i, _, _ = radius_pairs(codes, RADIUS)
        else:
            i, _, _ = neighbour_pairs(codes, RADIUS, max_neighbours=k)
    except MemoryError:
        out = {"error": f"MemoryError after {time.perf_counter() - t:.1f} s"}
    else:
        seconds = time.perf_counter() - t
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = {"seconds": seconds, "peak_mb": (peak_kb - base_kb) / 1024, "pairs": len(i)}
    print(json.dumps(out))


def run(kind: str, size: str, k: int, limit_gb: float) -> dict[str, object]:
    command = [sys.executable, __file__, "--worker", kind, "--size", size, "--k", str(k)]
    proc = subprocess.run(
        [*command, "--limit-gb", str(limit_gb)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:]
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def _show(label: str, r: dict[str, object]) -> str:
    if "error" in r:
        return f"{label}: did not finish ({r['error']})"
    return f"{label}: {r['seconds']:.2f} s, peak +{r['peak_mb']:,.0f} MB, {r['pairs']:,} pairs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, default=32, help="nearest neighbours per distinct code")
    ap.add_argument("--limit-gb", type=float, default=8.0, help="RLIMIT_AS of each join")
    ap.add_argument("--big", action="store_true", help="add 10,000,000 codes")
    ap.add_argument("--sizes", nargs="*", choices=sorted(SIZES), help="only these sizes")
    ap.add_argument("--worker", choices=["exact", "capped"], help=argparse.SUPPRESS)
    ap.add_argument("--size", choices=sorted(SIZES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.size, args.k, args.limit_gb)
        return
    sizes = args.sizes or (["100k", "1M", "10M"] if args.big else ["100k", "1M"])
    for size in sizes:
        n, blank, clusters, members = SIZES[size]
        print(
            f"n={n:,}: {blank:.0%} blank (one code), {clusters} bursts of {members}, "
            f"radius {RADIUS}, k={args.k}, limit {args.limit_gb:g} GB per join"
        )
        capped = run("capped", size, args.k, args.limit_gb)
        print("  " + _show("neighbour_pairs (capped)", capped))
        exact = run("exact", size, args.k, args.limit_gb)
        print("  " + _show("radius_pairs (exact)   ", exact))
        if "error" not in capped and "error" not in exact:
            print(
                f"  ratio exact / capped: time {exact['seconds'] / capped['seconds']:.1f}x, "
                f"peak memory {exact['peak_mb'] / max(capped['peak_mb'], 1):.1f}x, "
                f"pairs {exact['pairs'] / capped['pairs']:.1f}x"
            )


if __name__ == "__main__":
    sys.exit(main())
