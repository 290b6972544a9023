"""Shrink Debian's openclipart-png (public domain clip art) into the default model's data.

The default embed model (src/lookalike/models/) is trained on this clip art plus images the
recipe draws itself (lookalike.training.synthetic). This script keeps each picture's alpha
and caps its long side, so the whole set travels as a few tens of MB of WebP files:

    apt-get download openclipart-png && dpkg -x openclipart-png_*.deb /tmp/oc
    python scripts/prepare_openclipart.py /tmp/oc/usr/share/openclipart/png data/openclipart

It also writes ``LIST.tsv`` (source path, sha256 of the source file): the data list the
model card cites.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

SIDE = 256


def _shrink(job: tuple[str, str]) -> tuple[str, str, str]:
    src, dest = job
    data = Path(src).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        with Image.open(src) as im:
            im = im.convert("RGBA")
            im.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
            im.save(dest, "WEBP", quality=90)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return src, digest, f"skipped: {exc}"
    return src, digest, "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("dest")
    args = parser.parse_args()
    root = Path(args.source)
    out = Path(args.dest)
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in root.rglob("*.png") if p.is_file())
    jobs = [
        (
            str(p),
            str(out / (hashlib.sha1(str(p.relative_to(root)).encode()).hexdigest()[:16] + ".webp")),
        )
        for p in files
    ]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        rows = list(pool.map(_shrink, jobs, chunksize=64))
    with open(out / "LIST.tsv", "w", encoding="utf-8") as fh:
        fh.write("source\tsha256\tstatus\n")
        for src, digest, status in rows:
            fh.write(f"{Path(src).relative_to(root)}\t{digest}\t{status}\n")
    kept = sum(status == "ok" for *_, status in rows)
    print(f"{kept} of {len(rows)} pictures written to {out}")


if __name__ == "__main__":
    main()
