"""Turned copies saved with filled corners: find the turn and the picture inside it.

An image editor that turns a picture by a few degrees either keeps every pixel by
growing the canvas (Pillow's ``rotate(expand=True)``, GIMP's "adjust: none", a scanned
or screenshotted figure turned to fit) or keeps the canvas size and cuts the picture's
corners off (Pillow's ``expand=False``, torchvision's ``RandomRotation`` in a training
set); either way it fills the corner triangles it opens with one colour. Those triangles
defeat the global hashes, and on a smooth design with few corners the keypoints too.
Their shape gives the turn away: for a canvas ``Wc x Hc`` and an angle ``t`` the picture
is a ``W x H`` rectangle turned about the canvas centre, with ``W x H = Wc x Hc`` when the
canvas was kept, and when it grew

    Wc = W |cos t| + H |sin t|,    Hc = W |sin t| + H |cos t|

so the angle alone fixes the triangles. :func:`find_rotated_frame` tries the angles
:data:`MIN_ANGLE`-:data:`MAX_ANGLE` both ways, for both kinds of canvas, on a small grey
copy, and keeps the one whose triangles explain the runs of fill in from the canvas
sides, when the triangles hold only fill (the colour of all four canvas corners) and
the picture's edge just inside them does not. The result is used like a trimmed border:
the straightened picture (:func:`straighten`: all of it, or the largest centred
rectangle a kept canvas still shows) gets its own region code
(:mod:`lookalike.methods.regions`) and its own dense placement, and the fill is left out
of the keypoints and of the pixel checks (:mod:`lookalike.methods.local`); nothing is
decided from the frame alone.

A picture whose own edge has the fill's colour (a white page turned on a white canvas, a
night sky on black) shows no triangle and is not found; nor, on a kept canvas, is a turn
by 3 degrees, whose triangles are a few pixels (none of the 58 held-out designs; 53 at 8
degrees, 55 at 20); a picture with four flat
corners of one colour (a vignette) may be "found" at a wrong angle, which costs one more
code that matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["RotatedFrame", "find_rotated_frame", "picture_mask", "straighten"]

#: Degrees tried: below MIN_ANGLE the triangles are a pixel or two on a small copy.
MIN_ANGLE = 2.0
MAX_ANGLE = 30.0
#: Coarse step (degrees), then a fine step around the best.
_COARSE_STEP = 0.5
_FINE_STEP = 0.1
#: The coarse pass judges every third line, and stops there when it explains less than
#: MIN_FIT minus this share of the runs.
_COARSE_STRIDE = 3
_COARSE_SLACK = 0.2
#: Grey levels: a pixel within this of the corners' colour is fill.
FILL_TOLERANCE = 12.0
#: Triangles may hold at most this share of non-fill pixels ...
MAX_STRAY = 0.02
#: ... and the picture's edge just inside them at least this share of non-fill pixels.
MIN_EDGE = 0.5
#: Pixels of the small copy: the blended line between fill and picture is skipped, the
#: edge band is this wide, and the triangles together cover at least MIN_TRIANGLES of it.
_MARGIN = 1.5
_BAND = 3.0
MIN_TRIANGLES = 0.02
#: The picture reaches each canvas side within this share of the canvas across it (a
#: dark picture's corner on a black fill reads as fill for a few pixels).
TOUCH = 0.1
#: Long side the search works on (a larger grey array is shrunk first); a side under
#: MIN_SIDE (an icon) is not searched.
WORK_SIDE = 256
MIN_SIDE = 64
#: Share of the fill runs in from the canvas edges that the angle must explain.
MIN_FIT = 0.7
_SHIFT = 4  # cv2.fillConvexPoly sub-pixel bits


@dataclass(frozen=True)
class RotatedFrame:
    """A picture turned by ``angle`` degrees (counter-clockwise, as Pillow's ``rotate``)
    about the canvas centre; ``width`` and ``height`` are the picture's, in the pixels of
    the array it was found in. ``kept``: the canvas kept the picture's own size (Pillow's
    ``expand=False``, torchvision's ``RandomRotation``), so the picture's corners were cut
    off; else the canvas grew to hold all of it."""

    angle: float
    width: float
    height: float
    kept: bool = False

    @classmethod
    def of(cls, angle: float, canvas: tuple[int, int], kept: bool = False) -> RotatedFrame:
        """The frame of a turn by ``angle`` degrees in a canvas of (height, width)."""
        if kept:
            return cls(angle, float(canvas[1]), float(canvas[0]), True)
        w, h = _picture_size(angle, float(canvas[1]), float(canvas[0]))
        return cls(angle, float(w), float(h))

    @property
    def view(self) -> tuple[float, float, float, float]:
        """(left, top, width, height) of what :func:`straighten` keeps, in the picture's
        pixels: all of it, or (``kept``) the largest centred rectangle of its shape that
        the canvas still shows."""
        if not self.kept:
            return 0.0, 0.0, self.width, self.height
        t = np.radians(self.angle)
        c, s = abs(np.cos(t)), abs(np.sin(t))
        w, h = self.width, self.height
        k = min(w / (w * c + h * s), h / (w * s + h * c))
        return w * (1 - k) / 2, h * (1 - k) / 2, w * k, h * k

    def to_picture(self, canvas: tuple[int, int]) -> np.ndarray:
        """3x3 map from canvas pixels (x, y) to those of the straightened picture's
        :attr:`view`, whose top-left corner is (0, 0); ``canvas`` is (height, width)."""
        hc, wc = canvas
        t = np.radians(self.angle)
        c, s = np.cos(t), np.sin(t)
        left, top, _, _ = self.view
        # canvas -> centred, turned back by -angle (y down), -> the view's own pixels
        centre = np.array([[1.0, 0.0, -wc / 2], [0.0, 1.0, -hc / 2], [0.0, 0.0, 1.0]])
        back = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        x0, y0 = self.width / 2 - left, self.height / 2 - top
        corner = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
        return corner @ back @ centre


def _picture_size(angle: np.ndarray | float, wc: float, hc: float) -> tuple[np.ndarray, np.ndarray]:
    """(W, H) of the picture a turn by ``angle`` degrees puts in a ``wc x hc`` canvas."""
    t = np.radians(angle)
    c, s = np.abs(np.cos(t)), np.abs(np.sin(t))
    det = c * c - s * s
    return (c * wc - s * hc) / det, (c * hc - s * wc) / det


def _corners(
    angle: np.ndarray | float, w: np.ndarray | float, h: np.ndarray | float, wc: float, hc: float
) -> np.ndarray:
    """(..., 4, 2) canvas x, y of the corners of a ``w x h`` picture turned by ``angle``."""
    t = np.radians(np.asarray(angle, dtype=np.float64))[..., None]
    c, s = np.cos(t), np.sin(t)
    w, h = np.asarray(w, dtype=np.float64)[..., None], np.asarray(h, dtype=np.float64)[..., None]
    dx = np.array([-1.0, 1.0, 1.0, -1.0]) * w / 2
    dy = np.array([-1.0, -1.0, 1.0, 1.0]) * h / 2
    return np.stack([wc / 2 + dx * c + dy * s, hc / 2 - dx * s + dy * c], axis=-1)


def _inside(shape: tuple[int, int], corners: np.ndarray) -> np.ndarray:
    """Boolean mask of the pixels whose centres lie in the convex quadrilateral."""
    mask = np.zeros(shape, np.uint8)
    pts = np.round((corners - 0.5) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillConvexPoly(mask, pts, 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return mask.astype(bool)


def _runs(fill: np.ndarray) -> np.ndarray:
    """The measured runs of fill in from the left and the right of each row, then from
    the top and the bottom of each column (a line all fill: its length)."""

    def run(m: np.ndarray) -> np.ndarray:  # leading fill along axis 1
        stop = ~m
        return np.where(stop.any(axis=1), stop.argmax(axis=1), m.shape[1]).astype(np.float64)

    return np.concatenate([run(fill), run(fill[:, ::-1]), run(fill.T), run(fill.T[:, ::-1])])


def _enter_leave(pts: np.ndarray, lines: np.ndarray, size: int) -> np.ndarray:
    """(A, 2, L) runs in from both ends of each line (at ``lines`` across) to each of the
    A quadrilaterals ``pts`` ((A, 4, 2) as along, across); a line that misses: ``size``."""
    p, q = pts, np.roll(pts, -1, axis=1)
    lo = np.minimum(p[..., 1], q[..., 1])[:, None, :]
    hi = np.maximum(p[..., 1], q[..., 1])[:, None, :]
    span = (q[..., 1] - p[..., 1])[:, None, :]
    flat = span == 0
    across = lines[None, :, None]
    t = (across - p[:, None, :, 1]) / np.where(flat, 1.0, span)
    x = p[:, None, :, 0] + t * (q[:, None, :, 0] - p[:, None, :, 0])
    hit = (across >= lo) & (across <= hi) & ~flat
    some = hit.any(axis=2)
    first = np.where(hit, x, np.inf).min(axis=2)
    last = np.where(hit, x, -np.inf).max(axis=2)
    enter = np.where(some, np.clip(np.round(first), 0, size), size)
    leave = np.where(some, np.clip(size - np.round(last), 0, size), size)
    return np.stack([enter, leave], axis=1)


def _fit(
    runs: np.ndarray,
    shape: tuple[int, int],
    angles: np.ndarray,
    stride: int = 1,
    kept: bool = False,
) -> np.ndarray:
    """(A, 2): for each angle, the share of the corner runs within a pixel of those it
    predicts, and their mean error. Predicted: the runs :func:`_runs` would measure if the
    turned picture were all non-fill and the rest all fill; only runs predicted at least
    2 pixels long are judged (an angle judging none scores 0). ``stride``: every how
    many rows and columns are judged; ``kept``: the picture has the canvas's size."""
    h, w = shape
    ys, xs = np.arange(0, h, stride), np.arange(0, w, stride)
    runs = np.concatenate([runs[ys], runs[h + ys], runs[2 * h + xs], runs[2 * h + w + xs]])
    if kept:
        pw, ph = np.full(len(angles), float(w)), np.full(len(angles), float(h))
    else:
        pw, ph = _picture_size(angles, w, h)
    corners = _corners(angles, np.maximum(pw, 1.0), np.maximum(ph, 1.0), w, h)
    rows = _enter_leave(corners, ys + 0.5, w).reshape(len(angles), -1)
    cols = _enter_leave(corners[..., ::-1], xs + 0.5, h).reshape(len(angles), -1)
    pred = np.concatenate([rows, cols], axis=1)
    judged = (pred >= 2) & (np.minimum(pw, ph) > 8)[:, None]
    err = np.abs(runs[None, :] - pred)
    n = np.maximum(judged.sum(axis=1), 1)
    share = np.where(judged.any(axis=1), ((err <= 1.0) & judged).sum(axis=1) / n, 0.0)
    mean = np.where(judged, np.minimum(err, 10.0), 0.0).sum(axis=1) / n
    return np.stack([share, np.where(judged.any(axis=1), mean, np.inf)], axis=1)


def _triangles(fill: np.ndarray, frame: RotatedFrame) -> tuple[float, float, float]:
    """(share of non-fill pixels in the corner triangles, share of non-fill pixels along
    the picture's edge just inside them, the triangles' share of the canvas), on the
    canvas ``fill`` (the frame's sizes in its pixels)."""
    hc, wc = fill.shape
    angle, w, h = frame.angle, frame.width, frame.height
    outer = _inside(fill.shape, _corners(angle, w + 2 * _MARGIN, h + 2 * _MARGIN, wc, hc))
    inner = _inside(fill.shape, _corners(angle, w - 2 * _MARGIN, h - 2 * _MARGIN, wc, hc))
    d = 2 * (_MARGIN + _BAND)
    core = _inside(fill.shape, _corners(angle, w - d, h - d, wc, hc))
    triangles, band = ~outer, inner & ~core
    if not triangles.any() or not band.any():
        return 1.0, 0.0, 0.0
    return (
        float(np.mean(~fill[triangles])),
        float(np.mean(~fill[band])),
        float(np.mean(triangles)),
    )


def find_rotated_frame(grey: np.ndarray) -> RotatedFrame | None:
    """The turn and picture of a turned copy (grown canvas or kept), or None.

    ``grey``: (H, W) uint8 or float, at least :data:`MIN_SIDE` pixels on each side. The
    four canvas corners must share one colour. The angle is the one of
    :data:`MIN_ANGLE`-:data:`MAX_ANGLE` (either way) whose corner triangles best explain
    the runs of fill in from the canvas edges (:func:`_fit`); it stands when
    :data:`MIN_FIT` of those runs agree within a pixel, the triangles hold at most
    :data:`MAX_STRAY` non-fill pixels and the picture's edge inside them at least
    :data:`MIN_EDGE`.
    """
    a = np.asarray(grey, dtype=np.float32)
    if a.ndim != 2 or min(a.shape) < MIN_SIDE:
        return None
    h0, w0 = a.shape
    if max(h0, w0) > WORK_SIDE:
        f = WORK_SIDE / max(h0, w0)
        size = (max(1, round(w0 * f)), max(1, round(h0 * f)))
        a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
    corners = np.array([a[0, 0], a[0, -1], a[-1, 0], a[-1, -1]])
    colour = float(np.median(corners))
    if np.abs(corners - colour).max() > FILL_TOLERANCE:
        return None
    fill = np.abs(a - colour) <= FILL_TOLERANCE
    runs = _runs(fill)
    # the turned picture touches all four canvas sides (at its corners, or along them on a
    # kept canvas): a picture inside a margin of fill all round (a chart on a white page)
    # is not turned
    h, w = fill.shape
    sides = np.split(runs, [h, 2 * h, 2 * h + w])
    if any(side.min() > max(2.0, TOUCH * n) for side, n in zip(sides, (w, w, h, h), strict=True)):
        return None

    def best(angles: np.ndarray, stride: int, kept: bool) -> tuple[float, float, float]:
        """(share, -error, angle) of the angle that explains the runs best."""
        fits = _fit(runs, fill.shape, angles, stride, kept)
        i = int(np.lexsort((fits[:, 1], -fits[:, 0]))[0])  # best share, then least error
        return float(fits[i, 0]), -float(fits[i, 1]), float(angles[i])

    grid = np.arange(MIN_ANGLE, MAX_ANGLE + 1e-9, _COARSE_STEP)
    grid = np.concatenate([grid, -grid])
    # both ways a turned copy is saved: on a grown canvas, or cut to its own size
    rough, kept = max((best(grid, _COARSE_STRIDE, k), k) for k in (False, True))
    if rough[0] < MIN_FIT - _COARSE_SLACK:  # no finer angle explains the runs
        return None
    fine = rough[2] + np.arange(-_COARSE_STEP, _COARSE_STEP + 1e-9, _FINE_STEP)
    fine = fine[(np.abs(fine) >= MIN_ANGLE - 1e-9) & (np.abs(fine) <= MAX_ANGLE)]
    share, _, angle = best(fine, 1, kept)
    if share < MIN_FIT:
        return None
    stray, edge, triangles = _triangles(fill, RotatedFrame.of(angle, fill.shape, kept))
    if stray > MAX_STRAY or edge < MIN_EDGE or triangles < MIN_TRIANGLES:
        return None
    return RotatedFrame.of(angle, (h0, w0), kept)


def picture_mask(shape: tuple[int, int], frame: RotatedFrame, margin: float) -> np.ndarray:
    """uint8 mask (1 inside) of the turned picture in a canvas of ``shape`` (height,
    width), ``margin`` pixels in from its edges: where a keypoint sees the picture only,
    not the fill's straight edges (which two turned copies of different pictures share)."""
    h, w = shape
    corners = _corners(frame.angle, frame.width - 2 * margin, frame.height - 2 * margin, w, h)
    return _inside(shape, corners).astype(np.uint8)


def straighten(grey: np.ndarray, frame: RotatedFrame) -> np.ndarray:
    """The picture inside ``grey``'s rotated frame, turned back and cut to its
    :attr:`RotatedFrame.view` (bilinear; the same dtype as ``grey``)."""
    m = frame.to_picture((grey.shape[0], grey.shape[1]))[:2]
    _, _, w, h = frame.view
    size = (max(1, int(w)), max(1, int(h)))
    return cv2.warpAffine(
        np.ascontiguousarray(grey), m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
