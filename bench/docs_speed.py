"""Speed of `lookalike docs`: 100 documents of 20 pictures each, built from real photos.

Each document is a .docx or .xlsx holding 20 JPEG crops (300-900 px) of the corpus photos
(../shared/corpus/photos/originals, else samples/); one picture per document is a copy of
another in the same document and one a resized copy from another document, so the
workbook has rows of both kinds. Prints documents/s and images/s with the split between
extraction, rasterization and comparison.

    .venv/bin/python bench/docs_speed.py [--docs 100] [--images 20] [--jobs 0] [--no-orb]
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import Image

from lookalike.doccheck.check import check_documents
from lookalike.doccheck.records import CheckOptions
from lookalike.dupes.find import DEFAULT_LAYERS

ROOT = Path(__file__).resolve().parents[1]
ORIGINALS = ROOT.parent / "shared" / "corpus" / "photos" / "originals"


def _photos() -> list[Image.Image]:
    folder = ORIGINALS if ORIGINALS.is_dir() else ROOT / "samples"
    photos = []
    for p in sorted(folder.glob("*.jpg")):
        with Image.open(p) as im:
            photos.append(im.convert("RGB"))
    return photos


def _crop(photos: list[Image.Image], rng: random.Random) -> bytes:
    """A random window of a random photo, scaled to a figure's size, as JPEG bytes."""
    im = rng.choice(photos)
    w = rng.randint(im.width // 3, im.width)
    h = min(im.height, max(im.height // 3, round(w * rng.uniform(0.5, 1.0))))
    x, y = rng.randint(0, im.width - w), rng.randint(0, im.height - h)
    part = im.crop((x, y, x + w, y + h))
    side = rng.randint(300, 900)
    part.thumbnail((side, side))
    buf = io.BytesIO()
    part.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _resized(data: bytes, scale: float) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        small = im.resize((round(im.width * scale), round(im.height * scale)))
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def build(folder: Path, docs: int, images: int, seed: int = 7) -> int:
    """Write the documents; returns their total size in bytes."""
    rng = random.Random(seed)
    photos = _photos()
    previous: list[bytes] = []
    total = 0
    for d in range(docs):
        pictures = [_crop(photos, rng) for _ in range(images - 2)]
        pictures.append(pictures[rng.randrange(len(pictures))])  # reused in the document
        pictures.append(_resized(rng.choice(previous), 0.7) if previous else _crop(photos, rng))
        previous = pictures[:-2]
        kind, part = ("docx", "word") if d % 2 == 0 else ("xlsx", "xl")
        path = folder / f"report{d:03d}.{kind}"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
            for i, data in enumerate(pictures, 1):
                zf.writestr(f"{part}/media/image{i}.jpeg", data)
        total += path.stat().st_size
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--no-orb", action="store_true", help="leave the ORB layer out")
    args = parser.parse_args()
    methods = tuple(m for m in DEFAULT_LAYERS if not (args.no_orb and m == "orb"))
    with tempfile.TemporaryDirectory(prefix="lookalike-docs-bench-") as tmp:
        src, out = Path(tmp, "docs"), Path(tmp, "out")
        src.mkdir()
        t0 = time.perf_counter()
        size = build(src, args.docs, args.images)
        print(f"built {args.docs} documents x {args.images} pictures "
              f"({size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        options = CheckOptions(out=out, jobs=args.jobs, methods=methods)
        t0 = time.perf_counter()
        result = check_documents([src], options)
        wall = time.perf_counter() - t0
    s = result.stats
    secs = s["seconds"]
    within = sum(1 for p in result.pairs if p.within)
    print(f"methods: {' '.join(result.methods)}   jobs: {args.jobs or 'all CPUs'}")
    print(f"documents/s: {s['documents'] / wall:.1f}   images/s: {s['images'] / wall:.1f}   "
          f"total {wall:.1f} s")  # fmt: skip
    print(f"extract {secs['extract']:.1f} s ({s['images'] / max(secs['extract'], 1e-9):.0f} img/s)"
          f"   rasterize {secs['rasterize']:.1f} s"
          f"   compare {secs['compare']:.1f} s ({s['compared'] / max(secs['compare'], 1e-9):.0f}"
          f" img/s)   workbook {secs['workbook']:.1f} s")  # fmt: skip
    print(f"pairs: {len(result.pairs)} ({within} within, {len(result.pairs) - within} across)"
          f"   errors: {len(result.errors)}")  # fmt: skip


if __name__ == "__main__":
    main()
