"""Region codes: pHashes of the trimmed picture, of its crops and of its small rotations.

A global pHash (Zauner 2010) is blind to anything that moves the picture in its frame: a
photo shown in a window with a title bar, a letterboxed copy, a crop, a rotation by a few
degrees. The keypoint layer verifies such copies, but only the pairs that are *proposed*
reach it. This module gives each image a handful of 64-bit pHash codes of the picture as
such copies will show it, so that a radius search over codes proposes the pair:

* **plain**: the pHash of the whole image (the anchor everything is compared with);
* **trimmed**: the pHash after uniform borders, frames, title bars, task bars and
  letterbox bars are cut away (:func:`content_box`), so a framed copy's trimmed code
  meets the original's plain (or trimmed) code; a picture turned by a few degrees with
  its corners filled in one colour (on a grown canvas, or cut to its own size) is
  straightened and cut out instead (:mod:`lookalike.methods.rotated_frame`);
* **centre 80 % and 60 %**, and the **four corners at 70 % and 55 %** of each side:
  a crop's plain code meets its source's region code (multi-scale sub-image hashing, as
  in the block-based perceptual hashes surveyed by Zauner 2010, ch. 2, and the
  "multiple crops" queries of Douze et al., DISC21, arXiv:2106.09672, section 5);
* **rotated by +-7 degrees**: the image rotated (canvas expanded, as a rotated copy is
  saved) and cut to its central 60 %, which lies inside the rotated picture up to about
  12 degrees for 4:3 to 16:9 shapes: it meets the central 60 % of a copy rotated by
  5-10 degrees.

Codes fall in two roles: *anchors* (plain, trimmed, centre 60 %) are what a picture
looks like when it is the copy; *probes* (trimmed, the crops, the rotations) are what a
copy of it may look like. Two images are candidates when a probe of one is within a few
bits of an anchor of the other (:func:`lookalike.match.candidates.region_pairs`). The
method never decides a pair (``decides = False``): the cascade's keypoint layer does.

Trimming follows the usual "auto-crop" rule of image editors (ImageMagick's ``-trim``
with a fuzz factor): peel, side by side, the outer rows and columns that are nearly one
colour. A line counts as frame when at least 85 % of its pixels lie within 12 grey levels
of the line's median, which keeps a title bar (a flat strip with a few buttons and a
title) and drops a line of picture. A picture's own flat edge (a clear sky) is peeled as
well; both codes are kept, so nothing is lost when the trimmed code is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from PIL import Image

from lookalike.methods.base import CodeMethod, Thresholds, hamming, hamming_matrix
from lookalike.methods.hashes import PHash
from lookalike.methods.rotated_frame import find_rotated_frame, straighten

#: Windows (x0, y0, x1, y1) as fractions of the image, after the plain and trimmed codes.
WINDOWS: tuple[tuple[str, tuple[float, float, float, float]], ...] = (
    ("centre80", (0.1, 0.1, 0.9, 0.9)),
    ("centre60", (0.2, 0.2, 0.8, 0.8)),
    ("nw70", (0.0, 0.0, 0.7, 0.7)),
    ("ne70", (0.3, 0.0, 1.0, 0.7)),
    ("sw70", (0.0, 0.3, 0.7, 1.0)),
    ("se70", (0.3, 0.3, 1.0, 1.0)),
    ("nw55", (0.0, 0.0, 0.55, 0.55)),
    ("ne55", (0.45, 0.0, 1.0, 0.55)),
    ("sw55", (0.0, 0.45, 0.55, 1.0)),
    ("se55", (0.45, 0.45, 1.0, 1.0)),
)
#: Small rotations (degrees); each code is the central ``ROTATED_KEEP`` of the rotation.
ANGLES: tuple[float, ...] = (7.0, -7.0)
ROTATED_KEEP = 0.6
#: Every code, in row order.
CODE_NAMES: tuple[str, ...] = (
    "plain",
    "trimmed",
    *(n for n, _ in WINDOWS),
    *(f"rot{a:+g}" for a in ANGLES),
)
#: Codes that show how the picture looks as a copy (searched against).
ANCHORS: tuple[int, ...] = (
    CODE_NAMES.index("plain"),
    CODE_NAMES.index("trimmed"),
    CODE_NAMES.index("centre60"),
)
#: Codes that show how a copy of the picture may look (the queries of the search).
PROBES: tuple[int, ...] = tuple(
    i for i, n in enumerate(CODE_NAMES) if n not in ("plain", "centre60")
)

#: Trimming: a line is frame when this share of its pixels is near its median ...
FRAME_SHARE = 0.85
#: ... within this many grey levels; trimming looks at a copy of at most this long side.
FRAME_TOLERANCE = 12.0
TRIM_SIDE = 256
#: Long side the views are cut from: the smallest (55 % corners) still hold 32 x 32 pixels
#: more than four times over.
WORK_SIDE = 320
#: A line continuing a peeled strip (same median) is frame with this share near it.
STRIP_SHARE = 0.6
#: A trim leaving less than this share of either side is not trusted (the plain code is
#: kept as the trimmed one).
MIN_KEEP = 0.25


def _line_stats(line: np.ndarray) -> tuple[float, float]:
    """(median, share of pixels within :data:`FRAME_TOLERANCE` of it) of one line."""
    med = float(np.median(line))
    return med, float((np.abs(line - med) <= FRAME_TOLERANCE).mean())


def _frame(a: np.ndarray, side: str, box: list[int], last: float | None) -> float | None:
    """The median of the outer line on ``side`` of ``box`` when that line is frame, else None.

    A line is frame when :data:`FRAME_SHARE` of it is near its median, or when it
    continues the strip peeled before (``last``, the same median) with :data:`STRIP_SHARE`
    of it near that colour: the rows of a title bar that hold its title and buttons.
    """
    top, bottom, left, right = box
    if side == "top":
        line = a[top, left:right]
    elif side == "bottom":
        line = a[bottom - 1, left:right]
    elif side == "left":
        line = a[top:bottom, left]
    else:
        line = a[top:bottom, right - 1]
    med, share = _line_stats(line)
    if share >= FRAME_SHARE:
        return med
    if last is not None and abs(med - last) <= FRAME_TOLERANCE and share >= STRIP_SHARE:
        return last
    return None


_STEP = {"top": (0, 1), "bottom": (1, -1), "left": (2, 1), "right": (3, -1)}


def content_box(grey: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the picture inside uniform borders, frames and bars.

    Peels the four sides in turn, one outer row or column at a time, while it is frame
    (:func:`_frame`, measured over the box left so far), so a window's desktop, outline
    and title bar go before a flat edge of the picture itself; a side stops at its first
    line of picture (and resumes when the box shrinks beside it), or when
    :data:`MIN_KEEP` of that dimension is left. Then one more line goes on each peeled
    side (the blended line where frame and picture meet).
    """
    a = np.asarray(grey, dtype=np.float32)
    h, w = a.shape
    box = [0, h, 0, w]
    keep = {"top": max(2, int(MIN_KEEP * h)), "left": max(2, int(MIN_KEEP * w))}
    keep["bottom"], keep["right"] = keep["top"], keep["left"]
    last: dict[str, float | None] = dict.fromkeys(_STEP)
    moved = True
    while moved:  # a pass peels at most one line per side; a side may resume later
        moved = False
        for side, (k, step) in _STEP.items():
            lo, hi = (box[0], box[1]) if side in ("top", "bottom") else (box[2], box[3])
            med = _frame(a, side, box, last[side]) if hi - lo > keep[side] else None
            if med is not None:
                box[k] += step
                moved = True
                last[side] = med
    top, bottom, left, right = box
    top += top > 0
    left += left > 0
    bottom -= bottom < h
    right -= right < w
    return left, top, right, bottom


def trim(image: Image.Image) -> Image.Image:
    """``image`` without its uniform borders, frames, title bars and letterbox bars; a
    picture turned inside its canvas, corners filled
    (:func:`lookalike.methods.rotated_frame.find_rotated_frame`), straightened and cut out."""
    grey = image if image.mode == "L" else image.convert("L")
    pixels = np.asarray(grey)
    frame = find_rotated_frame(pixels)
    if frame is not None:
        return Image.fromarray(straighten(pixels, frame))
    small = grey.copy()
    small.thumbnail((TRIM_SIDE, TRIM_SIDE), Image.Resampling.BOX)
    left, top, right, bottom = content_box(np.asarray(small))
    if (left, top, right, bottom) == (0, 0, small.width, small.height):
        return grey
    sx, sy = grey.width / small.width, grey.height / small.height
    return grey.crop((round(left * sx), round(top * sy), round(right * sx), round(bottom * sy)))


def _window(image: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    w, h = image.size
    x0, y0, x1, y1 = box
    return image.crop((round(x0 * w), round(y0 * h), max(round(x1 * w), 1), max(round(y1 * h), 1)))


def _rotated_centre(image: Image.Image, angle: float) -> Image.Image:
    """The central :data:`ROTATED_KEEP` of ``image`` rotated by ``angle`` (canvas expanded)."""
    rotated = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    m = (1.0 - ROTATED_KEEP) / 2
    return _window(rotated, (m, m, 1 - m, 1 - m))


class RegionHashes(CodeMethod):
    """The pHash codes of :data:`CODE_NAMES`: plain, trimmed, crops and small rotations.

    A feature row holds ``len(CODE_NAMES)`` 64-bit codes. ``distance(a, b)`` is the least
    Hamming distance between a probe code of either image and an anchor code of the other
    (plain against plain included), so it is symmetric and 0 on identical rows. A
    candidate finder only: its verdict is always "uncertain".
    """

    name = "regions"
    min_size = 128
    version: ClassVar[int] = 5
    decides = False
    #: Never similar, never different: candidates only (as the visual words).
    thresholds = Thresholds(similar=2.0, different=-1.0, identical=2.0)
    reference = (
        "pHash (Zauner 2010) of sub-images (multi-crop queries, Douze et al., DISC21, "
        "arXiv:2106.09672) and of the picture trimmed of uniform frames (ImageMagick -trim)"
    )

    def __init__(self) -> None:
        self._phash = PHash()
        self.bits = self._phash.bits

    def prepare(self, image: Image.Image) -> np.ndarray:
        grey = image if image.mode == "L" else image.convert("L")
        if max(grey.size) > WORK_SIDE:  # every view is hashed at 32 x 32: work small
            scale = WORK_SIDE / max(grey.size)
            size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
            grey = grey.resize(size, Image.Resampling.BOX)
        views = [grey, trim(grey), *(_window(grey, box) for _, box in WINDOWS)]
        views += [_rotated_centre(grey, a) for a in ANGLES]
        return np.stack([self._phash.prepare(v) for v in views])

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        if not prepared:
            return np.zeros((0, len(CODE_NAMES) * self.bits // 8), np.uint8)
        stacked = [view for views in prepared for view in views]
        codes = self._phash.compute(stacked)  # (n * codes, nbytes)
        return codes.reshape(len(prepared), -1)

    def codes(self, features: np.ndarray) -> np.ndarray:
        """(n, codes * nbytes) rows -> (n, codes, nbytes), in :data:`CODE_NAMES` order."""
        f = np.asarray(features, dtype=np.uint8)
        return f.reshape(*f.shape[:-1], len(CODE_NAMES), -1)

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Least distance between a probe (or plain) code of one and an anchor of the other."""
        ca, cb = self.codes(a), self.codes(b)
        probes = (0, *PROBES)
        ab = hamming(ca[..., probes, None, :], cb[..., None, ANCHORS, :]).min(axis=(-1, -2))
        ba = hamming(cb[..., probes, None, :], ca[..., None, ANCHORS, :]).min(axis=(-1, -2))
        return np.minimum(ab, ba)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return 1.0 - self.distance(a, b) / self.bits

    def distance_matrix(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n, m) :meth:`distance` of every row of ``a`` against every row of ``b``."""
        ca, cb = self.codes(a), self.codes(b)
        probes = (0, *PROBES)

        def one_way(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return np.minimum.reduce(
                [
                    hamming_matrix(
                        np.ascontiguousarray(x[:, p, :]), np.ascontiguousarray(y[:, q, :])
                    )
                    for p in probes
                    for q in ANCHORS
                ]
            )

        return np.minimum(one_way(ca, cb), one_way(cb, ca).T)


__all__ = [
    "ANCHORS",
    "ANGLES",
    "CODE_NAMES",
    "PROBES",
    "WINDOWS",
    "RegionHashes",
    "content_box",
    "trim",
]
