"""The embed layer on pictures it was never trained or tuned on: held-out Debian packages.

    python bench/embed_layer.py [--out DIR] [--jobs 2] [--distractors 350]

The issue held these packages back from training and tuning; this benchmark is built only
from them (install them first: ``apt-get install mate-backgrounds ukui-wallpapers
sway-backgrounds lomiri-wallpapers desktop-base tuxpaint-stamps-default``):

* **sources**: one picture per design of mate-backgrounds, ukui-wallpapers,
  sway-backgrounds, lomiri-wallpapers and desktop-base's GRUB themes (renditions and
  recolourings of one design left out), each edited by ``lookalike eval make`` with the
  attacks that move the picture in its frame (screenshot, border, corner, centre, crop,
  rotate, paste) and ``jpeg`` as a control, at three severities;
* **natural renditions** as further queries: desktop-base's 4:3 GRUB pictures and login
  previews, sway's other sizes, mate's larger Elephants;
* **distractors**: ``--distractors`` tuxpaint stamps (clip art, seeded choice) added to
  the references.

It prints, without and with the embed layer (the shipped model): the engine's candidate
recall (proposed and reached, per attack) and what ``lookalike dupes`` groups (a query
with its source, per attack) with the precision of the reported pairs, and the time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
from candidate_recall import dupes, print_dupes
from PIL import Image

from lookalike.evaluate.dataset import load_benchmark, make_benchmark
from lookalike.evaluate.runner import engine_candidates
from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.reports.text import table

#: grey-level spread under which a flattened source is blank
BLANK_STD = 4.0
ATTACKS = ("screenshot", "border", "corner", "centre", "crop", "rotate", "paste", "jpeg")
BG = Path("/usr/share/backgrounds")
DB = Path("/usr/share/desktop-base")
#: mate renditions and recolourings of a design kept once
MATE_SKIP = {
    "Elephants_3840x2160", "Elephants_5640x3172", "MATE-Stripes-Light",
    "Ubuntu-Mate-Dark-no-logo", "Ubuntu-Mate-Radioactive-no-logo", "Ubuntu-Mate-Warm-no-logo",
}  # fmt: skip
THEMES = ("emerald", "futureprototype", "homeworld", "joy", "lines", "moonlight", "softwaves",
          "spacefun")  # fmt: skip


def _rgb(src: Path, dest: Path) -> None:
    """``src`` flattened on white into ``dest``; nothing when that leaves a blank picture
    (mate's transparent overlays: four of them flatten to the same white page, and
    would count as four sources whose copies all match each other)."""
    with Image.open(src) as im:
        im = im.convert("RGBA")
        canvas = Image.new("RGB", im.size, "white")
        canvas.paste(im, mask=im.getchannel("A"))
        if float(np.asarray(canvas.convert("L")).std()) < BLANK_STD:
            print(f"skipped {src}: blank once flattened", file=sys.stderr)
            return
        canvas.save(dest, "PNG" if dest.suffix == ".png" else "JPEG", quality=92)


def collect(root: Path, distractors: int) -> tuple[Path, Path, Path]:
    """Sources, natural variants and distractors of the held-out packages under ``root``."""
    photos, variants, extra = root / "photos", root / "variants", root / "distractors"
    for d in (photos, variants, extra):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for f in sorted((BG / "mate").rglob("*")):
        if f.suffix.lower() in (".jpg", ".png") and f.stem not in MATE_SKIP:
            _rgb(f, photos / f"mate-{f.stem}.png")
    for f in sorted(BG.glob("*")):  # ukui-wallpapers and lomiri-wallpapers (links: once)
        if f.is_file() and not f.is_symlink() and f.suffix.lower() in (".jpg", ".png"):
            _rgb(f, photos / f"bg-{f.stem}.png")
    _rgb(BG / "sway" / "Sway_Wallpaper_Blue_1920x1080.png", photos / "sway-blue.png")
    for f in sorted((BG / "sway").glob("*.png")):
        if "1920x1080" not in f.name:
            tag = f.stem.replace("Sway_Wallpaper_Blue_", "").replace("_", "-")
            _rgb(f, variants / f"sway-blue__{tag}.png")
    for size in ("3840x2160", "5640x3172"):
        _rgb(BG / "mate" / "abstract" / f"Elephants_{size}.jpg",
             variants / f"mate-Elephants__{size}.jpg")  # fmt: skip
    for theme in THEMES:
        grub = DB / f"{theme}-theme" / "grub"
        if not (grub / "grub-16x9.png").is_file():
            continue
        _rgb(grub / "grub-16x9.png", photos / f"db-{theme}.png")
        _rgb(grub / "grub-4x3.png", variants / f"db-{theme}__4x3.png")
        for i, preview in enumerate(sorted((DB / f"{theme}-theme" / "login").glob("sddm-*"))):
            shutil.copyfile(preview, variants / f"db-{theme}__screenshot{i or ''}.jpg")
    stamps = sorted(Path("/usr/share/tuxpaint/stamps").rglob("*.png"))
    rng = np.random.default_rng(0)
    for k in sorted(rng.choice(len(stamps), size=min(distractors, len(stamps)), replace=False)):
        _rgb(stamps[k], extra / f"stamp-{k:04d}-{stamps[k].stem}.jpg")
    return photos, variants, extra


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/lookalike-heldout"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--distractors", type=int, default=350)
    ap.add_argument("--no-dupes", action="store_true", help="candidate recall only")
    args = ap.parse_args()
    if not (BG / "mate").is_dir() or not Path("/usr/share/tuxpaint/stamps").is_dir():
        print("install the held-out packages first (see the docstring)", file=sys.stderr)
        return 2
    photos, variants, extra = collect(args.out / "src", args.distractors)
    bench_dir = args.out / "bench"
    shutil.rmtree(bench_dir, ignore_errors=True)
    make_benchmark(photos, bench_dir, attacks=ATTACKS, seed=0, variants=variants)
    for f in sorted(extra.iterdir()):
        shutil.copyfile(f, bench_dir / "references" / f.name)
    bench = load_benchmark(bench_dir)
    print(f"{len(list(photos.iterdir()))} sources, {len(bench.queries)} queries, "
          f"{len(bench.references)} references ({args.distractors} distractors)")  # fmt: skip
    ec = engine_candidates(bench, (*DEFAULT_LAYERS, "embed"), jobs=args.jobs)
    before, after = ec["without_embed"], ec["engine"]
    rows = [[a, f"{before['per_attack'][a]:.3f}", f"{after['per_attack'][a]:.3f}",
             f"{before['reachable_per_attack'][a]:.3f}", f"{after['reachable_per_attack'][a]:.3f}"]
            for a in after["per_attack"]]  # fmt: skip
    rows.append(["all", f"{before['recall']:.3f}", f"{after['recall']:.3f}",
                 f"{before['reachable']:.3f}", f"{after['reachable']:.3f}"])  # fmt: skip
    rows.append(["candidates / image", f"{before['candidates_per_image']:.2f}",
                 f"{after['candidates_per_image']:.2f}", "", ""])  # fmt: skip
    print(f"\ncandidate recall, {ec['images']} images (features {ec['features_seconds']:.0f} s)")
    print(table(["attack", "proposed", "proposed +embed", "reached", "reached +embed"], rows))
    if args.no_dupes:
        return 0
    res = {
        "dupes": dupes(bench_dir, args.jobs, True),
        "dupes +embed": dupes(bench_dir, args.jobs, True, (*DEFAULT_LAYERS, "embed")),
    }
    print_dupes(res, "without and with the embed layer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
