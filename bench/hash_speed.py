"""Hashing speed: lookalike's pHash against imagehash and against bare JPEG draft decoding.

    python bench/hash_speed.py [--photos DIR] [--min-mp 8] [--rounds 3]

The photos are the full-size wallpapers (8-15 megapixels) that
``../shared/corpus/make_photos.py DIR --full`` writes (it needs
``apt-get install plasma-workspace-wallpapers gnome-backgrounds``); the default DIR is
bench/out/photos-full, built on first use when those packages are installed.

Measured in one run, on the same files, the OS cache warm (each file read once first),
interleaved over ``--rounds`` rounds, the best round of each kept (this machine is noisy):

* floor: ``Image.open`` + ``draft("L", (128, 128))`` + ``load`` - the 1/8 DCT-scaled decode,
  the least work any method that needs the pixels can do;
* imagehash: ``imagehash.phash(Image.open(p))`` (full decode, LANCZOS resize);
* the floor again in 2 processes, to show what this machine allows;
* lookalike (1 process and 2 processes): ``extract_features(paths, [PHash()])``, the same
  path as ``lookalike hash`` (decode with draft, EXIF orientation, resize, batched DCT).

Targets (issue 2): lookalike >= 6x imagehash; <= 1.3x the floor's time; 2 processes
>= 1.8x one process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lookalike.engines.local import process_pool  # noqa: E402
from lookalike.features import extract_features  # noqa: E402
from lookalike.methods.hashes import PHash  # noqa: E402


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


def floor(files: list[Path]) -> None:
    for p in files:
        with Image.open(p) as im:
            im.draft("L", (128, 128))
            im.load()


def floor_two(files: list[Path]) -> None:
    """The floor in 2 processes: what the machine allows for scaling."""
    with process_pool(2) as pool:
        list(pool.map(floor, [files[i::16] for i in range(16)]))


def with_imagehash(files: list[Path]) -> None:
    import imagehash

    for p in files:
        with Image.open(p) as im:
            imagehash.phash(im)


def lookalike_jobs(jobs: int):
    def run(files: list[Path]) -> None:
        fs = extract_features([str(p) for p in files], [PHash()], jobs=jobs)
        assert not fs.failures, fs.failures

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--photos", type=Path, default=ROOT / "bench" / "out" / "photos-full")
    ap.add_argument("--min-mp", type=float, default=8.0, help="use photos of at least this size")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=6, help="go through the files this many times")
    args = ap.parse_args()
    files = photos(args.photos, args.min_mp)
    if not files:
        sys.exit(f"no photos of >= {args.min_mp} MP under {args.photos}")
    mp = sum(Image.open(p).width * Image.open(p).height for p in files) / len(files) / 1e6
    size = sum(p.stat().st_size for p in files) / len(files) / 1e6
    for p in files:  # warm the OS cache
        p.read_bytes()
    files = files * args.repeat
    runs = {
        "floor: draft decode (1 proc)": floor,
        "floor: draft decode (2 procs)": floor_two,
        "imagehash.phash (1 proc)": with_imagehash,
        "lookalike phash (1 proc)": lookalike_jobs(1),
        "lookalike phash (2 procs)": lookalike_jobs(2),
    }
    best = {name: float("inf") for name in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            t = time.perf_counter()
            fn(files)
            best[name] = min(best[name], time.perf_counter() - t)
    n = len(files)
    print(
        f"{n // args.repeat} JPEGs x {args.repeat}, {mp:.1f} MP and {size:.2f} MB on average, "
        f"best of {args.rounds} rounds, {os.cpu_count()} CPUs"
    )
    print(f"{'':32} {'images/s':>9} {'ms/image':>9}")
    for name, t in best.items():
        print(f"{name:32} {n / t:9.1f} {1000 * t / n:9.1f}")
    one = best["lookalike phash (1 proc)"]
    print()
    print(
        f"lookalike vs imagehash (1 proc):        {best['imagehash.phash (1 proc)'] / one:5.2f}x"
        "  (target >= 6x)"
    )
    ratio = one / best["floor: draft decode (1 proc)"]
    print(f"lookalike time / draft-decode floor:    {ratio:5.2f}   (target <= 1.3)")
    print(
        f"2 processes vs 1 process:               {one / best['lookalike phash (2 procs)']:5.2f}x"
        "  (target >= 1.8x)"
    )
    floor_scale = best["floor: draft decode (1 proc)"] / best["floor: draft decode (2 procs)"]
    print(f"  (the bare decode floor scales {floor_scale:.2f}x on this machine in the same run)")


if __name__ == "__main__":
    main()
