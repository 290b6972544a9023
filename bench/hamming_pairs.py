"""Benchmark: all near-duplicate pairs among 64-bit hashes, lookalike vs imagededup.

Prints figures and ratios (no assertions):

1. ``radius_pairs`` over ``--n`` random 64-bit codes with ``--planted`` near-duplicate
   pairs (a copy with 0..radius random bits flipped): time and planted recall.
2. ``knn`` (k=10) and ``radius_search`` per-query times against the same codes.
3. The peer, imagededup's ``Hashing().find_duplicates(encoding_map=...,
   max_distance_threshold=radius)`` over ``--peer-n`` codes, run in a subprocess with
   ``--peer-python``; lookalike runs on the same codes, the pair sets are compared and the
   speed ratio printed.

imagededup's pip package depends on torch, which must not enter the project's venv.
Its hashing search needs only light packages; set up a separate venv (see
bench/requirements-peers.txt)::

    python3 -m venv /tmp/peers
    /tmp/peers/bin/pip install --no-deps imagededup==0.3.3.post2
    /tmp/peers/bin/pip install numpy scipy PyWavelets Pillow tqdm scikit-learn

The package imports matplotlib (``imagededup.utils.plotter``) and torch
(``imagededup.utils.models``, ``imagededup.methods.cnn``) at import time; the peer snippet
stubs those three submodules, none of which is on the hashing search path. Its default
search (``brute_force_cython``, one worker per CPU) is what is timed.

Run: ``.venv/bin/python bench/hamming_pairs.py [--n 1000000] [--peer-n 50000]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lookalike.store.hamming import knn, radius_pairs, radius_search

PEER_CODE = r"""
import json, sys, time, types
import numpy as np
for name, attr in (("imagededup.utils.plotter", "plot_duplicates"),
                   ("imagededup.utils.models", "CustomModel"),
                   ("imagededup.methods.cnn", "CNN")):
    stub = types.ModuleType(name)
    setattr(stub, attr, None)
    sys.modules[name] = stub
from imagededup.methods.hashing import Hashing
codes = np.load(sys.argv[1])
radius = int(sys.argv[2])
enc = {str(i): format(int(c), "016x") for i, c in enumerate(codes)}
t = time.perf_counter()
dups = Hashing(verbose=False).find_duplicates(encoding_map=enc, max_distance_threshold=radius)
elapsed = time.perf_counter() - t
pairs = sorted({(min(int(a), int(b)), max(int(a), int(b))) for a, v in dups.items() for b in v})
print(json.dumps({"seconds": elapsed, "pairs": pairs}))
"""


def make_codes(n: int, planted: int, radius: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random codes; the last ``planted`` rows are copies of random rows with bits flipped."""
    rng = np.random.default_rng(seed)
    base = n - planted
    codes = rng.integers(0, 2**64, size=n, dtype=np.uint64, endpoint=False)
    src = rng.choice(base, planted, replace=False)
    nflip = rng.integers(0, radius + 1, planted)
    bits = np.argsort(rng.random((planted, 64)), axis=1)[:, :radius].astype(np.uint64)
    chosen = np.arange(radius)[None, :] < nflip[:, None]
    flips = np.bitwise_or.reduce(np.where(chosen, np.uint64(1) << bits, np.uint64(0)), axis=1)
    codes[base:] = codes[src] ^ flips
    pairs = np.stack([src, np.arange(base, n)], axis=1)
    return codes, pairs


def recall(i: np.ndarray, j: np.ndarray, n: int, planted: np.ndarray) -> int:
    found = np.isin(planted[:, 0] * n + planted[:, 1], i * n + j)
    return int(found.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--planted", type=int, default=10_000)
    ap.add_argument("--radius", type=int, default=10)
    ap.add_argument("--peer-n", type=int, default=50_000)
    default_peer = "/tmp/peers/bin/python" if Path("/tmp/peers/bin/python").exists() else ""
    ap.add_argument("--peer-python", default=default_peer)
    ap.add_argument("--no-peer", action="store_true", help="skip imagededup")
    ap.add_argument("--knn-queries", type=int, default=1000)
    args = ap.parse_args()

    codes, planted = make_codes(args.n, args.planted, args.radius, seed=0)
    t = time.perf_counter()
    i, j, _ = radius_pairs(codes, args.radius)
    ours = time.perf_counter() - t
    found = recall(i, j, args.n, planted)
    print(
        f"radius_pairs n={args.n:,} radius={args.radius}: {ours:.2f} s, {len(i):,} pairs, "
        f"planted found {found:,}/{len(planted):,}"
    )

    rng = np.random.default_rng(1)
    queries = codes[rng.choice(args.n, args.knn_queries, replace=False)]
    for nq in (1, args.knn_queries):
        t = time.perf_counter()
        knn(codes, queries[:nq], 10)
        dt = time.perf_counter() - t
        print(f"knn k=10 over {args.n:,}: {nq} queries in one call, {dt / nq * 1e3:.2f} ms/query")
        t = time.perf_counter()
        radius_search(codes, queries[:nq], args.radius)
        dt = time.perf_counter() - t
        print(
            f"radius_search r={args.radius} over {args.n:,}: {nq} queries in one call, "
            f"{dt / nq * 1e3:.2f} ms/query"
        )

    if args.no_peer:
        print("peer: skipped (--no-peer)")
        return
    if not args.peer_python or not Path(args.peer_python).exists():
        print(
            f"peer: skipped, no python for imagededup ({args.peer_python or 'none given'}); "
            "see the setup in this script's docstring"
        )
        return
    pn = args.peer_n
    pcodes, _ = make_codes(pn, max(1, args.planted * pn // args.n), args.radius, seed=2)
    t = time.perf_counter()
    pi, pj, _ = radius_pairs(pcodes, args.radius)
    ours_peer = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "codes.npy"
        np.save(path, pcodes)
        proc = subprocess.run(
            [args.peer_python, "-c", PEER_CODE, str(path), str(args.radius)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        print(f"peer: skipped, imagededup failed: {proc.stderr.strip().splitlines()[-1:]}")
        return
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    theirs = result["seconds"]
    their_pairs = {tuple(p) for p in result["pairs"]}
    our_pairs = set(zip(pi.tolist(), pj.tolist(), strict=True))
    print(
        f"imagededup find_duplicates n={pn:,} radius={args.radius}: {theirs:.2f} s, "
        f"{len(their_pairs):,} pairs; lookalike radius_pairs {ours_peer:.3f} s, "
        f"{len(our_pairs):,} pairs; same pairs: {their_pairs == our_pairs}"
    )
    print(f"ratio imagededup / lookalike at n={pn:,}: {theirs / ours_peer:,.0f}x")


if __name__ == "__main__":
    sys.exit(main())
