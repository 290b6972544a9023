"""Hard negatives: distinct images that fool similarity methods, generated deterministically.

Each set is a folder of images that are *not* copies of each other although some layer
of the detector can be fooled into saying so, plus a few positive controls (true copies
inside the set, which must still be found):

* ``charts``: distinct charts drawn with one plotting template (axes, ticks, labels and
  grid shared; the data differs);
* ``logos``: different photos that share a pasted logo or a login widget;
* ``dark``: dark, centre-weighted designs (radial gradients, vignettes, a bright motif);
* ``recoloured``: designs drawn in several colour themes (light, dark, tinted). Two
  themes of one design are the same drawing: they are listed as ``related`` pairs, not
  as false pairs, and :func:`evaluate` reports what the engine says about them;
* ``reframed``: landscape and portrait crops of one photo that overlap little;
* ``flat``: solid colours, faint noise and blank scans;
* ``text``: text pages that share one paragraph among different text.

``python -m lookalike.evaluate.hard_negatives OUT`` writes every set under ``OUT`` and
prints, per set, the pairs ``lookalike dupes`` reports that are not copies, and the
positive controls it finds (the table of docs/accuracy.md, "Hard negatives").
Every set is drawn from ``numpy.random.default_rng(seed)``: rerunning gives the same files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["SETS", "HardSet", "Outcome", "evaluate", "make_set"]

#: Where the photos for ``logos`` and ``reframed`` come from, when no folder is given.
_REPO = Path(__file__).resolve().parents[3]
PHOTO_DIRS = (_REPO / "samples", _REPO.parent / "shared" / "corpus" / "photos" / "originals")
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


@dataclass(frozen=True)
class HardSet:
    """One generated set: its files, the true copies in it, and the related pairs.

    ``copies`` and ``related`` hold pairs of file names (``frozenset`` of two); every
    other pair of files is a hard negative.
    """

    name: str
    folder: Path
    files: tuple[Path, ...]
    copies: frozenset[frozenset[str]] = frozenset()
    related: frozenset[frozenset[str]] = frozenset()


@dataclass
class Outcome:
    """What the detector reported on one set."""

    name: str
    files: int
    false_pairs: list[tuple[str, str, str]] = field(default_factory=list)  # a, b, decided_by
    copies_found: int = 0
    copies: int = 0
    related_found: int = 0
    related: int = 0
    decided_by: dict[str, int] = field(default_factory=dict)


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, sum(name.encode())])


def _save(im: Image.Image, path: Path, quality: int = 92) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".png":
        im.save(path)
    else:
        im.convert("RGB").save(path, quality=quality)
    return path


def _font(size: int, cjk: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if cjk and CJK_FONT.is_file():
        return ImageFont.truetype(str(CJK_FONT), size)
    return ImageFont.load_default(size=size)


def _photos(dirs: Sequence[Path] | None, n: int) -> list[Image.Image]:
    """Up to ``n`` distinct photos (by file stem), long side 640."""
    seen: dict[str, Path] = {}
    for d in dirs if dirs is not None else PHOTO_DIRS:
        for p in sorted(Path(d).glob("*.jpg")):
            seen.setdefault(p.stem, p)
    out = []
    for p in list(seen.values())[:n]:
        im = Image.open(p).convert("RGB")
        im.thumbnail((640, 640), Image.Resampling.LANCZOS)
        out.append(im)
    return out


def _pair(a: Path, b: Path) -> frozenset[str]:
    return frozenset((a.name, b.name))


# -- (a) charts on one template ----------------------------------------------------------


def _charts(out: Path, rng: np.random.Generator, n: int = 60, **_: object) -> HardSet:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    with plt.style.context("ggplot"):
        for i in range(n):
            fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=75)
            x = np.linspace(0, 10, 40)
            kind = ("line", "bar", "scatter", "step")[i % 4]
            for s in range(int(rng.integers(1, 4))):
                y = np.cumsum(rng.normal(0, 8, x.size)) + rng.uniform(20, 80)
                if kind == "line":
                    ax.plot(x, y, label=f"series {s + 1}")
                elif kind == "bar":
                    ax.bar(np.arange(8) + 0.25 * s, rng.uniform(10, 90, 8), width=0.25)
                elif kind == "scatter":
                    ax.scatter(x, y, s=12, label=f"series {s + 1}")
                else:
                    ax.step(x, y, label=f"series {s + 1}")
            ax.set(title="Measured values", xlabel="time (s)", ylabel="value")
            if kind != "bar":
                ax.set_xlim(0, 10)
            fig.tight_layout()
            path = out / f"chart_{i:02d}.png"
            fig.savefig(path)
            plt.close(fig)
            files.append(path)
    # positive controls: a smaller JPEG of chart 0, a crop of chart 1's plot area
    im0, im1 = Image.open(files[0]).convert("RGB"), Image.open(files[1]).convert("RGB")
    w, h = im1.size
    small = _save(im0.resize((w * 3 // 4, h * 3 // 4)), out / "chart_00_small.jpg", 80)
    crop = _save(im1.crop((w // 8, h // 10, w * 7 // 8, h * 9 // 10)), out / "chart_01_crop.png")
    return HardSet(
        "charts",
        out,
        (*files, small, crop),
        frozenset({_pair(files[0], small), _pair(files[1], crop)}),
    )


# -- (b) photos sharing a logo or a login widget ---------------------------------------------


def _logo(size: int) -> Image.Image:
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse((0, 0, size - 1, size - 1), fill=(230, 60, 40, 255), outline="white", width=3)
    d.polygon(
        [(size * 0.5, size * 0.15), (size * 0.85, size * 0.8), (size * 0.15, size * 0.8)],
        fill="white",
    )
    d.text((size * 0.27, size * 0.55), "ACME", fill=(230, 60, 40), font=_font(size // 6))
    return im


def _widget(w: int, h: int) -> Image.Image:
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((0, 0, w - 1, h - 1), radius=12, fill=(250, 250, 250, 240))
    f = _font(h // 10)
    d.text((w * 0.1, h * 0.06), "Sign in", fill=(30, 30, 30), font=f)
    for k, label in enumerate(("Username", "Password")):
        top = h * (0.25 + 0.25 * k)
        d.text((w * 0.1, top), label, fill=(90, 90, 90), font=_font(h // 14))
        d.rectangle((w * 0.1, top + h * 0.08, w * 0.9, top + h * 0.18), outline=(120, 120, 120))
    d.rounded_rectangle((w * 0.1, h * 0.8, w * 0.9, h * 0.93), radius=6, fill=(40, 110, 220))
    d.text((w * 0.4, h * 0.82), "Log in", fill="white", font=_font(h // 14))
    return im


def _logos(
    out: Path, rng: np.random.Generator, photos: Sequence[Path] | None = None, **_: object
) -> HardSet:
    files = []
    for i, im in enumerate(_photos(photos, 14)):
        im = im.copy()
        w, h = im.size
        if i % 2 == 0:
            logo = _logo(int(w * rng.uniform(0.12, 0.18)))
            im.paste(logo, (int(w * 0.04), int(h * 0.05)), logo)
        else:
            ww, wh = int(w * 0.28), int(h * 0.42)
            im.paste(_widget(ww, wh), ((w - ww) // 2, (h - wh) // 2), _widget(ww, wh))
        files.append(_save(im, out / f"wallpaper_{i:02d}.jpg"))
    # positive control: a 60% crop of the first wallpaper (logo included)
    im = Image.open(files[0])
    w, h = im.size
    crop = _save(im.crop((0, 0, int(w * 0.75), int(h * 0.8))), out / "wallpaper_00_crop.jpg")
    return HardSet("logos", out, (*files, crop), frozenset({_pair(files[0], crop)}))


# -- (c) dark, centre-weighted designs ---------------------------------------------------------


def _dark(out: Path, rng: np.random.Generator, n: int = 24, **_: object) -> HardSet:
    files = []
    side = 480
    yy, xx = np.mgrid[0:side, 0:side] / side - 0.5
    r = np.hypot(xx, yy)
    for i in range(n):
        hue = rng.uniform(0.2, 1.0, 3)
        glow = np.clip(1 - r / rng.uniform(0.25, 0.6), 0, 1) ** rng.uniform(1.0, 3.0)
        base = (glow[..., None] * hue * rng.uniform(60, 140)).astype(np.float64)
        im = Image.fromarray(np.clip(base + 8, 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(im)
        c = side / 2
        colour = tuple(int(v) for v in rng.integers(120, 256, 3))
        motif = i % 4
        if motif == 0:
            rad = rng.uniform(40, 110)
            d.ellipse(
                (c - rad, c - rad, c + rad, c + rad), outline=colour, width=int(rng.integers(2, 9))
            )
        elif motif == 1:
            k = int(rng.integers(5, 9))
            ang = np.linspace(0, 2 * np.pi, 2 * k, endpoint=False) + rng.uniform(0, 1)
            rad = np.where(np.arange(2 * k) % 2 == 0, rng.uniform(80, 140), rng.uniform(30, 60))
            d.polygon(
                list(zip(c + rad * np.cos(ang), c + rad * np.sin(ang), strict=True)), fill=colour
            )
        elif motif == 2:
            t = np.linspace(0, rng.uniform(3, 6) * np.pi, 200)
            sp = t * rng.uniform(5, 9)
            d.line(
                list(zip(c + sp * np.cos(t), c + sp * np.sin(t), strict=True)), fill=colour, width=3
            )
        else:
            text = "".join(rng.choice(list("ABCDEFGHKMNPRSTWXZ"), 3))
            d.text((c - 90, c - 45), text, fill=colour, font=_font(80))
        for _k in range(int(rng.integers(20, 60))):  # faint stars
            x, y = rng.uniform(0, side, 2)
            v = int(rng.integers(40, 120))
            d.point((x, y), fill=(v, v, v))
        im = im.filter(ImageFilter.GaussianBlur(0.6))
        files.append(_save(im, out / f"dark_{i:02d}.jpg"))
    # positive controls: design 0 rotated by 90 degrees, design 1 mirrored, design 2 smaller
    ims = [Image.open(f) for f in files[:3]]
    rot = _save(ims[0].rotate(90, expand=True), out / "dark_00_rot90.jpg")
    mir = _save(ims[1].transpose(Image.Transpose.FLIP_LEFT_RIGHT), out / "dark_01_mirror.jpg")
    small = _save(ims[2].resize((320, 320)), out / "dark_02_small.jpg")
    copies = {_pair(files[0], rot), _pair(files[1], mir), _pair(files[2], small)}
    return HardSet("dark", out, (*files, rot, mir, small), frozenset(copies))


# -- (d) one design in several colour themes ---------------------------------------------------

#: (background, foreground, accent) per theme
THEMES = {
    "light": ((245, 245, 240), (30, 30, 30), (40, 110, 220)),
    "dark": ((22, 22, 26), (225, 225, 225), (110, 170, 255)),
    "blue": ((20, 40, 90), (200, 220, 255), (255, 200, 60)),
    "sepia": ((235, 220, 190), (80, 50, 20), (170, 60, 30)),
}


def _recoloured(out: Path, rng: np.random.Generator, n: int = 5, **_: object) -> HardSet:
    files: list[Path] = []
    related = set()
    for i in range(n):
        shapes = []
        for _k in range(int(rng.integers(8, 16))):
            kind = int(rng.integers(0, 3))
            x0, y0 = rng.uniform(20, 540), rng.uniform(20, 380)
            x1, y1 = x0 + rng.uniform(30, 160), y0 + rng.uniform(30, 120)
            shapes.append((kind, (x0, y0, x1, y1), int(rng.integers(1, 3))))
        mine = []
        for theme, (bg, fg, accent) in THEMES.items():
            im = Image.new("RGB", (640, 480), bg)
            d = ImageDraw.Draw(im)
            for kind, box, col in shapes:
                ink = fg if col == 1 else accent
                if kind == 0:
                    d.rectangle(box, outline=ink, width=3)
                elif kind == 1:
                    d.ellipse(box, fill=ink)
                else:
                    d.line(box, fill=ink, width=4)
            mine.append(_save(im, out / f"design_{i}_{theme}.png"))
        related |= {_pair(a, b) for k, a in enumerate(mine) for b in mine[k + 1 :]}
        files += mine
    im = Image.open(files[0])
    small = _save(im.resize((480, 360)), out / "design_0_light_small.jpg")
    return HardSet(
        "recoloured",
        out,
        (*files, small),
        frozenset({_pair(files[0], small)}),
        frozenset(related),
    )


# -- (e) landscape and portrait compositions of one scene ---------------------------------------


def _reframed(
    out: Path, rng: np.random.Generator, photos: Sequence[Path] | None = None, **_: object
) -> HardSet:
    files = []
    ims = _photos(photos, 9)
    for i, im in enumerate(ims[:-1]):
        w, h = im.size
        land = im.crop((0, 0, int(w * 0.75), int(h * 0.45)))
        port = im.crop((int(w * 0.55), int(h * 0.2), int(w * 0.95), h))
        files.append(_save(land, out / f"scene_{i:02d}_landscape.jpg"))
        files.append(_save(port, out / f"scene_{i:02d}_portrait.jpg"))
    # positive control: another photo and its central half
    w, h = ims[-1].size
    full = _save(ims[-1], out / "photo.jpg")
    half = _save(ims[-1].crop((w // 6, h // 6, w * 5 // 6, h * 5 // 6)), out / "photo_crop.jpg")
    return HardSet("reframed", out, (*files, full, half), frozenset({_pair(full, half)}))


# -- (f) flat and nearly blank images ------------------------------------------------------------


def _flat(out: Path, rng: np.random.Generator, **_: object) -> HardSet:
    files = []
    size = (480, 640)
    for i in range(10):  # solid colours, well apart
        colour = (25 * i, int(255 - 20 * i), int(rng.integers(0, 256)))
        files.append(_save(Image.new("RGB", size[::-1], colour), out / f"solid_{i:02d}.png"))
    for i in range(6):  # faint noise around levels 16 grey levels apart
        px = rng.normal(60 + 16 * i, 2.0, (*size, 1)).repeat(3, axis=2)
        im = Image.fromarray(np.clip(px, 0, 255).astype(np.uint8))
        files.append(_save(im, out / f"noise_{i:02d}.png"))
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    for i in range(6):  # blank scans: paper tint, uneven lighting, grain, a few specks
        light = (
            1
            - 0.05
            * ((xx - rng.uniform(0, size[1])) ** 2 + (yy - rng.uniform(0, size[0])) ** 2)
            / 640**2
        )
        paper = np.array([245 - 3 * i, 242 - 4 * i, 232 - 5 * i], float)
        px = light[..., None] * paper + rng.normal(0, 1.5, (*size, 1))
        im = Image.fromarray(np.clip(px, 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(im)
        for _k in range(int(rng.integers(3, 12))):
            x, y = rng.uniform(0, size[1]), rng.uniform(0, size[0])
            d.ellipse((x, y, x + 2, y + 2), fill=(120, 120, 120))
        files.append(_save(im, out / f"scan_{i:02d}.jpg"))
    im = Image.open(files[-1])
    again = _save(im.resize((360, 480)), out / "scan_05_again.jpg", 75)
    solid = _save(Image.open(files[3]).resize((320, 240)), out / "solid_03_small.jpg", 85)
    copies = {_pair(files[-1], again), _pair(files[3], solid)}
    return HardSet("flat", out, (*files, again, solid), frozenset(copies))


# -- (g) text pages sharing a paragraph ----------------------------------------------------------

_WORDS = [
    "image",
    "copy",
    "method",
    "layer",
    "hash",
    "colour",
    "content",
    "keypoint",
    "match",
    "region",
    "report",
    "figure",
    "page",
    "table",
    "design",
    "result",
    "measure",
    "sample",
    "photo",
    "scan",
    "border",
    "caption",
    "frame",
    "rotate",
    "mirror",
    "crop",
]
_HANZI = (
    "图片相似度检测分层哈希颜色内容特征匹配区域报告文档页面表格设计结果测量样本照片扫描边框标题"
)


def _paragraph(rng: np.random.Generator, lines: int, cjk: bool) -> list[str]:
    if cjk and CJK_FONT.is_file():
        return ["".join(rng.choice(list(_HANZI), 24)) for _ in range(lines)]
    return [" ".join(rng.choice(_WORDS, 7)) for _ in range(lines)]


def _text(out: Path, rng: np.random.Generator, n: int = 10, **_: object) -> HardSet:
    shared = _paragraph(rng, 5, cjk=True)
    files = []
    for i in range(n):
        im = Image.new("RGB", (600, 800), "white")
        d = ImageDraw.Draw(im)
        body = [_paragraph(rng, 4, cjk=bool(k % 2)) for k in range(5)]
        at = int(rng.integers(0, 5))
        body.insert(at, shared)
        y = 30
        for para in body:
            font = _font(20, cjk=True)
            for line in para:
                d.text((40, y), line, fill="black", font=font)
                y += 24
            y += 14
            if y > 760:
                break
        files.append(_save(im, out / f"page_{i:02d}.png"))
    im = Image.open(files[0])
    small = _save(im.resize((450, 600)), out / "page_00_small.jpg", 85)
    top = _save(Image.open(files[1]).crop((0, 0, 600, 420)), out / "page_01_top.png")
    copies = {_pair(files[0], small), _pair(files[1], top)}
    return HardSet("text", out, (*files, small, top), frozenset(copies))


SETS: dict[str, Callable[..., HardSet]] = {
    "charts": _charts,
    "logos": _logos,
    "dark": _dark,
    "recoloured": _recoloured,
    "reframed": _reframed,
    "flat": _flat,
    "text": _text,
}


def make_set(
    name: str, out: str | Path, *, seed: int = 0, photos: Sequence[Path] | None = None
) -> HardSet:
    """Write the set ``name`` (one of :data:`SETS`) under ``out/name`` and describe it."""
    if name not in SETS:
        raise ValueError(f"unknown hard-negative set {name!r}; expected one of {sorted(SETS)}")
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    return SETS[name](folder, _rng(seed, name), photos=photos)


def evaluate(hard: HardSet, pairs: Iterable[tuple[str, str, str]]) -> Outcome:
    """Score reported pairs ``(path a, path b, decided_by)`` against the set's truth."""
    out = Outcome(hard.name, len(hard.files), copies=len(hard.copies), related=len(hard.related))
    for a, b, by in pairs:
        key = frozenset((Path(a).name, Path(b).name))
        out.decided_by[by] = out.decided_by.get(by, 0) + 1
        if key in hard.copies:
            out.copies_found += 1
        elif key in hard.related:
            out.related_found += 1
        else:
            out.false_pairs.append((Path(a).name, Path(b).name, by))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the sets, run ``find_duplicates`` on each and print the outcome table."""
    from lookalike.dupes.find import DupesOptions, find_duplicates

    p = argparse.ArgumentParser(prog="python -m lookalike.evaluate.hard_negatives")
    p.add_argument("out", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--photos", type=Path, nargs="*", help="photo folders (default: %(default)s)")
    p.add_argument("--verbose", action="store_true", help="list every false pair")
    args = p.parse_args(argv)
    print(
        "| set | images | false pairs | decided by | copies found | related pairs called similar |"
    )
    print("|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        hard = make_set(name, args.out, seed=args.seed, photos=args.photos)
        report = find_duplicates([hard.folder], DupesOptions(cache=""))
        o = evaluate(hard, [(q.a, q.b, q.method) for q in report.pairs])
        by: dict[str, int] = {}
        for _a, _b, m in o.false_pairs:
            by[m] = by.get(m, 0) + 1
        rel = f"{o.related_found} of {o.related}" if o.related else "-"
        print(
            f"| {name} | {o.files} | {len(o.false_pairs)} | {by or '-'} | "
            f"{o.copies_found} of {o.copies} | {rel} |"
        )
        if args.verbose:
            for a, b, m in o.false_pairs:
                print(f"    {a} {b} {m}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
