"""`make demo`: find the copies among the bundled sample photos.

Copies the real photos of samples/ into demo-out/photos, adds transformed copies made on
the fly (resized and recompressed, brightened, rotated, mirrored, cropped, captioned,
pasted into another photo, byte-identical), then runs the main job:

    lookalike dupes demo-out/photos --report demo-out/report.html --report demo-out/report.xlsx

and compares one pair with every method.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "demo-out"


def make_copies(photos: list[Path], folder: Path) -> None:
    """Transformed copies of some photos: the detector must find each of them."""
    a = Image.open(photos[0]).convert("RGB")
    b = Image.open(photos[1]).convert("RGB")
    c = Image.open(photos[2]).convert("RGB")
    w, h = a.size
    a.resize((w // 2, h // 2)).save(
        folder / "copies" / f"{photos[0].stem}-half-q60.jpg", quality=60
    )
    ImageEnhance.Brightness(a).enhance(1.3).save(folder / "copies" / f"{photos[0].stem}-bright.jpg")
    b.rotate(90, expand=True).save(folder / "copies" / f"{photos[1].stem}-rot90.png")
    ImageOps.mirror(b).save(folder / "copies" / f"{photos[1].stem}-mirror.jpg")
    bw, bh = b.size
    b.crop((bw // 4, bh // 4, 3 * bw // 4, 3 * bh // 4)).save(
        folder / "copies" / f"{photos[1].stem}-crop50.jpg"
    )
    captioned = c.copy()
    draw = ImageDraw.Draw(captioned)
    draw.rectangle((0, c.height - 40, c.width, c.height), fill="black")
    draw.text((10, c.height - 30), "Figure 1 / 图 1", fill="white")
    captioned.save(folder / "copies" / f"{photos[2].stem}-caption.jpg")
    host = Image.open(photos[3]).convert("RGB")
    host.paste(c.resize((c.width * 2 // 5, c.height * 2 // 5)), (host.width // 2, host.height // 4))
    host.save(folder / "copies" / f"{photos[3].stem}-with-pasted-{photos[2].stem}.jpg")
    shutil.copy(photos[4], folder / "copies" / f"副本-{photos[4].name}")  # same bytes
    (folder / "copies" / "broken.jpg").write_bytes(photos[5].read_bytes()[:2000])


def main() -> int:
    photos = sorted((ROOT / "samples").glob("*.jpg"))
    if OUT.exists():
        shutil.rmtree(OUT)
    folder = OUT / "photos"
    (folder / "copies").mkdir(parents=True)
    for p in photos:
        shutil.copy(p, folder / p.name)
    make_copies(photos, folder)
    exe = [sys.executable, "-m", "lookalike"]
    print(
        f"== {len(list(folder.rglob('*')))} files in {folder.relative_to(ROOT)}: "
        f"{len(photos)} photos, transformed copies, one broken file\n",
        flush=True,
    )
    dupes = subprocess.run(
        [
            *exe,
            "dupes",
            str(folder),
            "--no-cache",
            "--report",
            str(OUT / "report.html"),
            "--report",
            str(OUT / "report.xlsx"),
        ],
        check=False,
    )
    if dupes.returncode not in (0, 1):  # 1: the broken file was reported, the rest done
        return dupes.returncode
    print(f"\n== one pair, every method: {photos[1].stem} and its 50% crop\n", flush=True)
    subprocess.run(
        [
            *exe,
            "compare",
            str(folder / photos[1].name),
            str(folder / "copies" / f"{photos[1].stem}-crop50.jpg"),
        ],
        check=True,
    )
    print(f"\nOpen {OUT.relative_to(ROOT) / 'report.html'} in a browser, or the .xlsx in Excel.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
