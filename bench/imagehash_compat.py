"""lookalike.compat.imagehash against imagehash 4.3.2: the same calls on the same files.

    python bench/imagehash_compat.py [--photos DIR] [--min-mp 8] [--rounds 3]
                                     [--functions phash,average_hash,dhash,whash]

The photos are the full-size wallpapers (8-15 megapixels) that
``../shared/corpus/make_photos.py DIR --full`` writes (it needs
``apt-get install plasma-workspace-wallpapers gnome-backgrounds``); the default DIR is
bench/out/photos-full, built on first use when those packages are installed.

Measured in one run, on the same files, the OS cache warm, interleaved over ``--rounds``
rounds, the best round of each kept. Per function:

* (a) ``imagehash.f(Image.open(p))`` against ``compat.f(Image.open(p))``: a lazily opened
  JPEG, as a drop-in receives it;
* (b) ``compat.f(p)``: the path itself (lookalike's extension; opened as ``Image.open``);
* (c) and (d): the same two calls through ``lookalike.compat.imagehash_fast`` (JPEG draft
  decoding: faster, not bit-identical; how many values equal imagehash's and the largest
  Hamming distance are printed first);
* for reference only, lookalike's own fast hash (``lookalike.methods.hashes.f(p)``: JPEG
  draft decoding, EXIF orientation); the median Hamming distance to imagehash's value is
  printed beside it.

Before timing, every compat value is checked against imagehash's (bit-identical or the
run stops).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import lookalike.compat.imagehash as compat  # noqa: E402
import lookalike.compat.imagehash_fast as compat_fast  # noqa: E402
from lookalike.methods import hashes as native  # noqa: E402

NATIVE = {"phash": "phash", "average_hash": "average_hash", "dhash": "dhash", "whash": "whash"}


def photos(folder: Path, min_mp: float) -> list[Path]:
    if not folder.exists():
        maker = ROOT.parent / "shared" / "corpus" / "make_photos.py"
        print(f"building {folder} with {maker} --full ...", file=sys.stderr)
        subprocess.run([sys.executable, str(maker), str(folder), "--full"], check=True)
    files = sorted((folder / "originals").glob("*.jpg")) or sorted(folder.glob("*.jpg"))
    out = []
    for p in files:
        with Image.open(p) as im:
            if im.width * im.height >= min_mp * 1e6:
                out.append(p)
    return out


def check_identical(name: str, files: list[Path]) -> None:
    for p in files:
        ours, theirs = getattr(compat, name)(Image.open(p)), getattr(imagehash, name)(Image.open(p))
        if str(ours) != str(theirs) or str(getattr(compat, name)(p)) != str(theirs):
            sys.exit(f"{name} differs from imagehash on {p}: {ours} vs {theirs}")


def fast_distances(name: str, files: list[Path]) -> np.ndarray:
    """Hamming distance of ``imagehash_fast``'s value to imagehash's, per file."""
    fast, ref = getattr(compat_fast, name), getattr(imagehash, name)
    return np.array([fast(Image.open(p)) - ref(Image.open(p)) for p in files])


def native_distance(name: str, files: list[Path]) -> float:
    d = [
        getattr(native, NATIVE[name])(p) - native.Hash(getattr(imagehash, name)(Image.open(p)).hash)
        for p in files
    ]
    return float(np.median(d))


def runs(name: str) -> dict[str, Callable[[list[Path]], None]]:
    ref, ours, quick = getattr(imagehash, name), getattr(compat, name), getattr(compat_fast, name)
    fast = getattr(native, NATIVE[name]) if name in NATIVE else None

    def with_imagehash(files: list[Path]) -> None:
        for p in files:
            ref(Image.open(p))

    def compat_image(files: list[Path]) -> None:
        for p in files:
            ours(Image.open(p))

    def compat_path(files: list[Path]) -> None:
        for p in files:
            ours(p)

    def fast_image(files: list[Path]) -> None:
        for p in files:
            quick(Image.open(p))

    def fast_path(files: list[Path]) -> None:
        for p in files:
            quick(p)

    def lookalike_fast(files: list[Path]) -> None:
        for p in files:
            fast(p)

    out = {
        "imagehash(Image.open(p))": with_imagehash,
        "(a) compat(Image.open(p))": compat_image,
        "(b) compat(p)": compat_path,
        "(c) compat_fast(Image.open(p))": fast_image,
        "(d) compat_fast(p)": fast_path,
    }
    if fast is not None:  # lookalike has its own (fast, not identical) version
        out["lookalike fast, not identical"] = lookalike_fast
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--photos", type=Path, default=ROOT / "bench" / "out" / "photos-full")
    ap.add_argument("--min-mp", type=float, default=8.0, help="use photos of at least this size")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--functions",
        default="phash,average_hash,dhash,whash",
        help="comma-separated; any hash function of imagehash (crop_resistant_hash, colorhash...)",
    )
    args = ap.parse_args()
    names = args.functions.split(",")
    files = photos(args.photos, args.min_mp)
    if not files:
        sys.exit(f"no photos of >= {args.min_mp} MP under {args.photos}")
    mp = sum(Image.open(p).width * Image.open(p).height for p in files) / len(files) / 1e6
    size = sum(p.stat().st_size for p in files) / len(files) / 1e6
    for p in files:  # warm the OS cache
        p.read_bytes()
    print(
        f"{len(files)} JPEGs, {mp:.1f} MP and {size:.2f} MB on average, best of {args.rounds} "
        f"rounds, {os.cpu_count()} CPUs, imagehash {imagehash.__version__}"
    )
    print()
    for name in names:
        check_identical(name, files)
        d = fast_distances(name, files)
        print(
            f"{name}: compat == imagehash on {len(files)}/{len(files)} files; imagehash_fast "
            f"== imagehash on {int((d == 0).sum())}/{len(files)}, Hamming distance median "
            f"{np.median(d):.0f}, max {d.max()} bits"
        )
    print()
    table = {name: runs(name) for name in names}
    best = {(name, k): float("inf") for name in names for k in table[name]}
    for _ in range(args.rounds):
        for name in names:
            for k, fn in table[name].items():
                t = time.perf_counter()
                fn(files)
                best[name, k] = min(best[name, k], time.perf_counter() - t)
    n = len(files)
    print(f"{'':16} {'':30} {'ms/image':>9} {'vs imagehash':>13}")
    for name in names:
        ref = best[name, "imagehash(Image.open(p))"]
        for k in table[name]:
            t = best[name, k]
            note = ""
            if k.startswith("lookalike fast"):
                note = f"  (median distance to imagehash {native_distance(name, files):.0f} bits)"
            print(f"{name:16} {k:30} {1000 * t / n:9.1f} {ref / t:12.2f}x{note}")
    print()
    print("Goal (issue 17): >= 4x imagehash for phash/average_hash/dhash.")


if __name__ == "__main__":
    main()
