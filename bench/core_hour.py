"""Images per core-hour and cost per million images: feature extraction on real photos.

Prints figures, no assertions. One process (one core), the OS cache warm, best of
``--rounds`` rounds over the photos repeated ``--repeat`` times, for:

* ``phash``: decode (JPEG draft) + pHash, the fingerprint an all-pairs join needs;
* ``collection``: the features `lookalike index` stores per image (pHash-8, colour,
  content, ORB visual words: search.collection.METHODS).

The default photos are ../shared/corpus/photos (wallpapers, long side <= 1600 px); pass
``--photos DIR`` for others (bench/hash_speed.py builds 8-15 MP ones). Cost per million
images = 1e6 / (images per core-hour) * ``--price`` (USD per core-hour, an assumption:
about an on-demand cloud vCPU; pass your own).

Run: ``.venv/bin/python bench/core_hour.py [--photos DIR] [--price 0.04]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image

from lookalike.features import extract_features
from lookalike.methods import get_method
from lookalike.search.collection import METHODS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "corpus" / "photos")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--price", type=float, default=0.04, help="USD per core-hour (assumed)")
    args = ap.parse_args()
    files = sorted(args.photos.rglob("*.jpg"))
    if not files:
        sys.exit(f"no JPEG photos under {args.photos}")
    mp = sum(Image.open(p).width * Image.open(p).height for p in files) / len(files) / 1e6
    size = sum(p.stat().st_size for p in files) / len(files) / 1e6
    for p in files:
        p.read_bytes()
    sets = {"phash": [get_method("phash")], "collection": [get_method(m) for m in METHODS]}
    print(
        f"{len(files)} JPEGs x {args.repeat}, {mp:.2f} MP and {size:.2f} MB on average, "
        f"1 process, best of {args.rounds} rounds; price {args.price} USD per core-hour"
    )
    for name, methods in sets.items():
        best = float("inf")
        for _ in range(args.rounds):
            t = time.perf_counter()
            fs = extract_features(files * args.repeat, methods, jobs=1)
            best = min(best, time.perf_counter() - t)
        assert not fs.failures
        rate = len(files) * args.repeat / best
        per_hour = rate * 3600
        print(
            f"  {name:<11} {rate:7.1f} images/s per core = {per_hour / 1e3:,.0f}k per core-hour; "
            f"{1e6 / per_hour:,.1f} core-hours = {1e6 / per_hour * args.price:,.2f} USD per "
            f"million images"
        )


if __name__ == "__main__":
    main()
