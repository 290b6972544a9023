"""Signs of processing, measured per file, so the keeper rule can keep the original.

Measured only for images that are in a group (a decode each), from the decoded pixels and
the header:

* **greyscale**: the mean chroma (max - min of R, G, B) of a 64x64 thumbnail is under
  :data:`GREY_CHROMA` (1% of full scale); a JPEG saved in grey decodes to exactly 0;
* **upscaled** (per pair, :func:`upscaled_flags`): the larger of two copies with the same
  aspect holds little beyond the smaller one enlarged: mean |A - enlarge(B)| over B's own
  detail (mean |B - enlarge(halve(B))|). On the 8 sample photos, their 2x and 1.5x
  enlargements (JPEG quality 75 to 95) score 0.10-0.53, the photos against their halves
  or re-encodes 0.49-1.42: :data:`UPSCALED_GAIN` = 0.56;
* **converted**: a lossless file (PNG, BMP, TIFF) whose pixels carry the 8x8 block grid
  of JPEG: the mean step across one column phase of 8 stands out from the median phase.
  The sample JPEGs decode to 1.06-1.43; a photo that never was a JPEG is about 1.0, so
  :data:`BLOCK_RATIO` = 1.03;
* **camera**: EXIF Make, Model or DateTimeOriginal present;
* **filled corners** (a canvas): the four corners are flat and of one colour and the
  fill ends in a step along each corner's diagonal (the edge of a picture turned by a few
  degrees), or each side is a band of one fill that ends in picture (a frame, a border):
  :func:`filled_corners`.

Rotations and mirror images are judged per pair, from phash8's codes
(:func:`turned_flags`).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from lookalike.match.grouping import FileFacts
from lookalike.match.relation import PairRelation

if TYPE_CHECKING:
    from PIL import Image
from lookalike.sources.folders import Entry

#: Bumped when :func:`measure` changes what it finds (stored facts of another version are
#: measured again).
FACTS_VERSION = 2
#: The measured fields of :class:`FileFacts` (the rest come from the scan, or per pair).
MEASURED = ("grey", "converted", "filled_corners", "camera", "format")
GREY_CHROMA = 0.01
UPSCALED_GAIN = 0.56
BLOCK_RATIO = 1.03
#: Side of the central crop the pixel measures look at (full resolution, bounded cost).
CROP = 512
#: The canvas measures (:func:`filled_corners`) look at a copy of at most this long side.
CANVAS_SIDE = 512
#: Grey levels a canvas fill may vary by (JPEG noise).
FILL_TOLERANCE = 6.0
#: A turned picture's corner leaves the fill within this share of the shorter side ...
CANVAS_REACH = 0.3
#: ... in a step: the next three pixels differ from the fill by this many levels on average
#: (:func:`_turned_canvas`). Held out (57 wallpapers, 18 edits each): 0 of the originals,
#: 170 of 171 turned copies and 169 of 171 bordered ones read as a canvas; the old test
#: (four flat corners of one colour) took all of those copies but also 6 originals whose
#: dark corners fade into the picture, and their crops won the keeper. Corpus benchmark
#: (25 photos): 0 of 38 originals, 75 of 75 turned and 75 of 75 bordered copies.
CANVAS_STEP = 12.0
#: A frame's lines hold this share of pixels near the fill; the picture past it has most
#: of its pixels more than this many levels from the fill.
FRAME_UNIFORM = 0.95
FILL_EXACT = 2.0
#: Images above this many pixels are not measured (facts stay "not seen").
MAX_PIXELS = 60_000_000
_LOSSLESS = {"PNG", "BMP", "TIFF", "PPM", "TGA"}


def _blockiness(g: np.ndarray) -> float:
    g = g.astype(np.float32)
    ratios = []
    for d in (np.abs(np.diff(g, axis=1)).mean(axis=0), np.abs(np.diff(g, axis=0)).mean(axis=1)):
        if len(d) < 32:
            continue
        phases = np.array([d[p::8].mean() for p in range(8)])
        med = float(np.median(phases))
        ratios.append(float(phases.max()) / med if med > 0 else 1.0)
    return max(ratios, default=1.0)


def filled_corners(grey: np.ndarray) -> bool:
    """Whether a grey image sits on a canvas: a turn's filled corners or a frame.

    Measured on a copy of at most :data:`CANVAS_SIDE` pixels. Either the four corners are
    flat and of one fill, and from each corner along its diagonal the fill ends within
    :data:`CANVAS_REACH` of the shorter side in a step of more than :data:`CANVAS_STEP`
    grey levels (the edge of a turned picture), or each side is a band of the fill that
    ends in picture (:func:`_framed`). Dark or flat corners that fade into the picture (a
    vignette, a night sky) are the picture's own, not a canvas.
    """
    g = _small(grey)
    h, w = g.shape
    if h < 16 or w < 16:
        return False
    corners = [g[:4, :4], g[:4, -4:], g[-4:, :4], g[-4:, -4:]]
    means = [float(c.mean()) for c in corners]
    flat = all(c.std() < 3.0 for c in corners) and max(means) - min(means) <= FILL_TOLERANCE
    return (flat and _turned_canvas(g, float(np.mean(means)))) or _framed(g)


def _small(grey: np.ndarray) -> np.ndarray:
    """``grey`` as float32, shrunk (box filter) to at most :data:`CANVAS_SIDE` pixels long."""
    from PIL import Image

    g = np.asarray(grey)
    if max(g.shape) > CANVAS_SIDE:
        im = Image.fromarray(g.astype(np.uint8))
        im.thumbnail((CANVAS_SIDE, CANVAS_SIDE), Image.Resampling.BOX)
        g = np.asarray(im)
    return g.astype(np.float32)


def _turned_canvas(g: np.ndarray, fill: float) -> bool:
    """The corners' diagonals leave the fill early, in a step (see :func:`filled_corners`):
    at two corners at least, or at one while no other corner fades out of the fill.

    A turned picture's own corner, or the picture's edge inside a frame, may be near the
    fill colour (the diagonal stays in it), and under a vignette one corner may meet an
    edge of the picture in a step: the other corners fade."""
    h, w = g.shape
    n = int(CANVAS_REACH * min(h, w))
    k = np.arange(n)
    stepped = faded = 0
    for ys, xs in ((k, k), (k, w - 1 - k), (h - 1 - k, k), (h - 1 - k, w - 1 - k)):
        line = np.abs(g[ys, xs] - fill)
        off = np.flatnonzero(line > FILL_TOLERANCE)
        if len(off) and off[0] + 4 <= n:
            if line[off[0] + 1 : off[0] + 4].mean() > CANVAS_STEP:
                stepped += 1
            else:
                faded += 1
    return stepped >= 2 or (stepped == 1 and faded == 0)


def _framed(g: np.ndarray) -> bool:
    """Each side is a band of one fill (lines with :data:`FRAME_UNIFORM` of their pixels
    within :data:`FILL_TOLERANCE` of it) whose next line but one (past the blended line) is
    picture: most of its pixels more than :data:`FILL_EXACT` levels from the fill (a frame's
    fill is flat; the picture beside it may be close to its colour, not equal)."""
    h, w = g.shape
    fill = float(np.median(np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])))
    off = np.abs(g - fill)
    # each side's outer quarter, one row per line from the edge inward
    for side in (
        off[: h // 4],
        off[::-1][: h // 4],
        off[:, : w // 4].T,
        off[:, ::-1][:, : w // 4].T,
    ):
        inside = np.flatnonzero((side <= FILL_TOLERANCE).mean(axis=1) < FRAME_UNIFORM)
        if len(inside) == 0 or inside[0] == 0 or inside[0] + 1 >= len(side):
            return False
        if (side[inside[0] + 1] <= FILL_EXACT).mean() >= 0.5:
            return False
    return True


def measure(entry: Entry, width: int, height: int, mtime: float) -> FileFacts:
    """The :class:`FileFacts` of one image; what cannot be measured stays "not seen"."""
    from PIL import Image, UnidentifiedImageError

    base = FileFacts(width, height, entry.size, mtime)
    try:
        with Image.open(io.BytesIO(entry.read())) as im:
            fmt = im.format or ""
            exif = im.getexif()
            camera = bool(exif.get(271) or exif.get(272))
            with contextlib.suppress(KeyError, ValueError, TypeError):
                camera = camera or bool(exif.get_ifd(0x8769).get(36867))
            if im.width * im.height > MAX_PIXELS:
                return FileFacts(width, height, entry.size, mtime, camera=camera, format=fmt)
            if fmt not in _LOSSLESS:  # colour and corners need only a small image (draft)
                im.draft("RGB", (256, 256))
            rgb = im.convert("RGB")
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return base
    except Exception:  # a measure is a hint: never fail the run for it
        return base
    thumb = np.asarray(rgb.resize((64, 64), Image.Resampling.BOX), np.int16)
    chroma = float((thumb.max(axis=2) - thumb.min(axis=2)).mean()) / 255.0
    grey = np.asarray(rgb.convert("L"))
    converted = False
    if fmt in _LOSSLESS:  # the JPEG block grid is seen at full resolution only
        h, w = grey.shape
        top, left = max(0, (h - CROP) // 2), max(0, (w - CROP) // 2)
        crop = np.ascontiguousarray(grey[top : top + CROP, left : left + CROP])
        converted = _blockiness(crop) >= BLOCK_RATIO
    return FileFacts(
        width,
        height,
        entry.size,
        mtime,
        grey=chroma < GREY_CHROMA,
        converted=converted,
        filled_corners=filled_corners(grey),
        camera=camera,
        format=fmt,
    )


def turned_flags(
    codes: np.ndarray, i: np.ndarray, j: np.ndarray, identical: Sequence[bool], radius: int
) -> np.ndarray:
    """Per image: matched more of its copies only after a rotation or mirror than plainly.

    ``codes``: phash8 rows (n, 8 * nbytes), the identity code first. A pair "needed a
    turn" when the identity codes are more than ``radius`` bits apart while some
    rotated or mirrored code is within it. In a pair alone neither wins (a tie).
    """
    n = len(codes)
    if n == 0 or len(i) == 0:
        return np.zeros(n, bool)
    c = np.asarray(codes, np.uint8).reshape(n, 8, -1)
    bits = np.unpackbits(c, axis=-1)  # (n, 8, nbits)
    a, b = np.asarray(i), np.asarray(j)
    plain = (bits[a, 0] != bits[b, 0]).sum(axis=-1)
    turned_ab = (bits[a, :1] != bits[b]).sum(axis=-1).min(axis=-1)
    turned_ba = (bits[b, :1] != bits[a]).sum(axis=-1).min(axis=-1)
    best = np.minimum(turned_ab, turned_ba)
    need = (plain > radius) & (best <= radius) & ~np.asarray(identical, bool)
    straight = plain <= radius
    votes_turn = np.bincount(np.r_[a[need], b[need]], minlength=n)
    votes_plain = np.bincount(np.r_[a[straight], b[straight]], minlength=n)
    return votes_turn > votes_plain


#: Relations that keep the whole picture in its frame: an aspect that differs across one
#: of them is a stretch (a crop, a frame or a turn changes the aspect legitimately).
WHOLE_PICTURE = ("identical bytes", "recompressed", "resized", "greyscale", "recoloured",
                 "mirrored", "edited")  # fmt: skip
#: Aspect ratios within this (log) of each other are one aspect; beyond ASPECT_STRETCH,
#: another.
ASPECT_SAME = 0.02
ASPECT_STRETCH = 0.05


def stretched_flags(
    sizes: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    relation: Sequence[PairRelation | None],
) -> np.ndarray:
    """Per image: stretched to another aspect than most of its copies have.

    Among the pairs that keep the whole picture (:data:`WHOLE_PICTURE`), an image whose
    copies of another aspect outnumber those of its own was the one stretched: the
    re-encodes, recolourings and resizes of a picture keep the original's aspect. In a
    pair alone neither wins (a tie). ``sizes``: (n, 2) width and height."""
    n = len(sizes)
    if n == 0 or len(i) == 0:
        return np.zeros(n, bool)
    wh = np.asarray(sizes, np.float64).reshape(n, 2)
    ratio = np.log(np.maximum(wh[:, 0], 1) / np.maximum(wh[:, 1], 1))
    whole = np.array([r is not None and r.kind in WHOLE_PICTURE for r in relation], bool)
    a, b = np.asarray(i)[whole], np.asarray(j)[whole]
    gap = np.abs(ratio[a] - ratio[b])
    same, other = gap <= ASPECT_SAME, gap > ASPECT_STRETCH
    votes_same = np.bincount(np.r_[a[same], b[same]], minlength=n)
    votes_other = np.bincount(np.r_[a[other], b[other]], minlength=n)
    return votes_other > votes_same


#: The smaller copy of a pair is looked at with at most this long side (both copies are
#: reduced by one factor, which keeps an enlargement an enlargement).
DETAIL_SIDE = 512


def _grey(entry: Entry, long_side: int) -> Image.Image | None:
    """The image in grey with its long side at most ``long_side`` (JPEG draft decoding)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(entry.read())) as im:
            if im.width * im.height > MAX_PIXELS:
                return None
            scale = min(1.0, long_side / max(im.width, im.height))
            size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
            im.draft("L", size)
            grey = im.convert("L")
            return grey if grey.size == size else grey.resize(size, Image.Resampling.BOX)
    except Exception:  # a measure is a hint: never fail the run for it
        return None


def detail_gain(larger: Image.Image, smaller: Image.Image) -> float:
    """What ``larger`` holds beyond ``smaller`` enlarged, over ``smaller``'s own detail."""
    from PIL import Image

    a = np.asarray(larger, np.float32)
    up = np.asarray(smaller.resize(larger.size, Image.Resampling.BICUBIC), np.float32)
    w, h = smaller.size
    half = smaller.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.BOX)
    b = np.asarray(smaller, np.float32)
    own = float(np.abs(b - np.asarray(half.resize((w, h), Image.Resampling.BICUBIC))).mean())
    return float(np.abs(a - up).mean()) / own if own > 0 else float("inf")


def upscaled_flags(
    entries: Sequence[Entry | None],
    facts: Sequence[FileFacts],
    i: np.ndarray,
    j: np.ndarray,
    known: dict[tuple[str, str], bool] | None = None,
    keys: Sequence[str | None] | None = None,
) -> np.ndarray:
    """Per image: it is an enlargement of a smaller copy it matched (same aspect, 1%).

    Only an image that would win on resolution is looked at (the largest among the copies
    it matched), against its largest smaller copy of the same shape: one decode pair per
    such image, so the cost grows with the groups, not with their pairs.
    ``known``: answers by (key of the larger, key of the smaller), read and added to, so a
    pair is decoded once per run (and never again when the caller stores them); ``keys``:
    each image's key (its digest), None where it has none.
    """
    n = len(facts)
    flags = np.zeros(n, bool)
    area = np.array([f.width * f.height for f in facts], dtype=np.int64)
    best: dict[int, int] = {}  # candidate keeper -> its largest smaller same-shape copy
    beaten: set[int] = set()
    for a, b in zip(np.asarray(i).tolist(), np.asarray(j).tolist(), strict=True):
        big, small = (a, b) if area[a] >= area[b] else (b, a)
        beaten.add(small)
        fbig, fsmall = facts[big], facts[small]
        if fsmall.width < 16 or fsmall.height < 16 or fbig.height == 0 or fsmall.height == 0:
            continue
        if area[small] * 1.2 > area[big]:
            continue
        ra, rb = fbig.width / fbig.height, fsmall.width / fsmall.height
        if abs(ra - rb) > 0.01 * max(ra, rb):
            continue
        if big not in best or area[small] > area[best[big]]:
            best[big] = small
    for big, small in best.items():
        if big in beaten:  # a larger copy exists: it, not this one, competes on resolution
            continue
        eb, es = entries[big], entries[small]
        if eb is None or es is None:
            continue
        kb, ks = (keys[big], keys[small]) if keys is not None else (None, None)
        pair = (kb, ks) if known is not None and kb is not None and ks is not None else None
        if pair is not None and known is not None and pair in known:
            flags[big] = known[pair]
            continue
        fbig, fsmall = facts[big], facts[small]
        # Both reduced by one factor (the small one to DETAIL_SIDE at most), the large one
        # to at most twice the small one: an enlargement holds nothing more at any scale.
        factor = min(1.0, DETAIL_SIDE / max(fsmall.width, fsmall.height))
        side_s = max(16, round(max(fsmall.width, fsmall.height) * factor))
        side_b = min(round(max(fbig.width, fbig.height) * factor), 2 * side_s)
        gs, gb = _grey(es, side_s), _grey(eb, side_b)
        if gb is not None and gs is not None:
            flags[big] = detail_gain(gb, gs) < UPSCALED_GAIN
            if pair is not None and known is not None:
                known[pair] = bool(flags[big])
    return flags
