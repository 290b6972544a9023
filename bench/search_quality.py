"""What `lookalike search` ranks first for edited copies, and how long a query takes.

    python bench/search_quality.py [--folder bench/out/dupes-1000] [--k 10]

The collection: the 1,000 photos of ``bench/dupes_speed.py`` (the corpus's 38 wallpapers,
the packages' own renditions of them and ordinary edits; built there when missing),
indexed once into ``bench/out/search-quality-db`` with the default methods (with
``--model default``: into ``bench/out/search-quality-db-embed``, with the learned layer too).

The queries: each of the 38 originals (``../shared/corpus/photos/originals``) edited by
``lookalike.evaluate.attacks`` -- pasted into another picture at 80 / 60 / 40 % size, a
corner crop to 40 %, a random crop to 50 %, a window with a title bar (the photo at 55 %),
a rotation by 8 degrees, and a JPEG re-encode as a control -- saved as JPEG (quality 90)
and searched by their bytes, as an upload is, with the full cascade (``verify=True``),
one at a time in this process.

Printed per edit: top-1 (the first hit is a file of the same wallpaper, ``NAME`` of
``NAME__TAG``), top-5, the share whose first hit the engine calls a copy (not
"different"), and the p50 / p90 time per query. No asserts: figures to compare runs.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from lookalike.evaluate.attacks import apply_attack
from lookalike.reports.text import table
from lookalike.search.collection import Collection

ROOT = Path(__file__).resolve().parents[1]
ORIGINALS = ROOT.parent / "shared" / "corpus" / "photos" / "originals"
EDITS = (
    ("paste", "mild"),
    ("paste", "medium"),
    ("paste", "strong"),
    ("corner", "strong"),
    ("crop", "strong"),
    ("screenshot", "strong"),
    ("rotate", "medium"),
    ("jpeg", "strong"),
)


def _design(path: str) -> str:
    return Path(path).stem.split("__")[0]


def collection(folder: Path, db: Path, model: str | None = None) -> Path:
    """The indexed collection of ``folder`` in ``db`` (built once, updated when stale)."""
    if not folder.is_dir():
        sys.path.insert(0, str(ROOT / "bench"))
        from dupes_speed import build  # the same 1,000 photos as the dupes benchmark

        build(folder, 1000)
    t0 = time.perf_counter()
    with Collection(db, create=True, model=model) as c:
        stats = c.update([folder], jobs=2)
    print(f"collection: {stats.images} images ({stats.computed} indexed now) "
          f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    return db


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=ROOT / "bench" / "out" / "dupes-1000")
    ap.add_argument("--db", type=Path, default=None, help="default: bench/out/search-quality-db")
    ap.add_argument("--model", default=None, help="add the learned layer ('default' or ONNX)")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    suffix = "-embed" if args.model else ""
    args.db = args.db or ROOT / "bench" / "out" / f"search-quality-db{suffix}"
    if not ORIGINALS.is_dir():
        print(f"no photos at {ORIGINALS}", file=sys.stderr)
        return 2
    db = collection(args.folder, args.db, args.model)
    originals = sorted(ORIGINALS.glob("*.jpg"))
    rows = []
    with Collection(db) as c:
        c.search(originals[0])  # warm: the word index and the thread pool
        for attack, severity in EDITS:
            top1 = top5 = copy = 0
            times = []
            for k, path in enumerate(originals):
                edited = apply_attack(Image.open(path).convert("RGB"), attack, severity, seed=k)
                buf = io.BytesIO()
                edited.save(buf, "JPEG", quality=90)
                t0 = time.perf_counter()
                hits = c.search(buf.getvalue(), k=args.k).results
                times.append(time.perf_counter() - t0)
                same = [_design(h.path) == path.stem for h in hits]
                top1 += bool(same[:1] and same[0])
                top5 += any(same[:5])
                copy += bool(hits and same[0] and hits[0].verdict != "different")
            n = len(originals)
            rows.append([f"{attack}-{severity}", f"{top1 / n:.3f}", f"{top5 / n:.3f}",
                         f"{copy / n:.3f}", f"{1e3 * np.median(times):.0f}",
                         f"{1e3 * np.percentile(times, 90):.0f}"])  # fmt: skip
    layers = "with the learned layer" if args.model else "default methods"
    print(f"\n{len(originals)} queries per edit, k={args.k}, verify=True, one at a time, {layers}")
    print(table(["edit", "top-1", "top-5", "top-1 a copy", "p50 ms", "p90 ms"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
