"""Edited copies of a clip made with OpenCV, each with the truth of where its frames came
from: the benchmark's queries and the tests' fixtures.

The edits are those duplicate-video finders meet (Czkawka, fastdup, perception's TMK tests,
vPDQ's evaluation): a re-encode at low quality, a resized copy, a trimmed copy, a copy with
a middle segment cut out, a copy with a logo, a copy inside an added border. Each returns
the segments it keeps: ``(a_start, a_end, b_start)`` in seconds, "a_start..a_end of the
source is at b_start.. of the copy".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lookalike.errors import DecodeError

__all__ = [
    "EDITS",
    "SEVERITY",
    "Segment",
    "apply_edit",
    "make_slideshow",
    "read_clip",
    "write_clip",
]

#: (a_start, a_end, b_start) in seconds
Segment = tuple[float, float, float]


@dataclass(frozen=True)
class _Clip:
    frames: list[np.ndarray]
    fps: float

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps


def read_clip(path: str | os.PathLike[str], max_side: int = 480) -> _Clip:
    """Every frame of a (short) clip, shrunk to ``max_side``, and its frame rate."""
    import cv2

    cap = cv2.VideoCapture(os.fspath(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0) or 25.0
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        if max(h, w) > max_side:
            s = max_side / max(h, w)
            frame = cv2.resize(frame, (round(w * s) // 2 * 2, round(h * s) // 2 * 2))
        frames.append(frame)
    cap.release()
    if not frames:
        raise DecodeError(os.fspath(path), "no decodable video frame")
    return _Clip(frames, fps)


def write_clip(
    path: str | os.PathLike[str], frames: list[np.ndarray], fps: float, fourcc: str = "mp4v"
) -> None:
    """Frames to a video file (``mp4v`` in .mp4, ``MJPG`` in .avi)."""
    import cv2

    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(os.fspath(path), cv2.VideoWriter.fourcc(*fourcc), fps, (w, h))
    if not out.isOpened():
        raise OSError(f"{path}: OpenCV cannot write {fourcc} video here")
    for f in frames:
        out.write(f if f.shape[:2] == (h, w) else _fit(f, w, h))
    out.release()


def _fit(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)


def _even(n: float) -> int:
    return max(16, round(n) // 2 * 2)


def _reencode(clip: _Clip, rng: np.random.Generator) -> tuple[list[np.ndarray], list[Segment]]:
    import cv2

    out = []
    for f in clip.frames:
        _, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 15])
        out.append(np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)))
    return out, [(0.0, clip.duration, 0.0)]


def _resize(clip: _Clip, rng: np.random.Generator) -> tuple[list[np.ndarray], list[Segment]]:
    import cv2

    h, w = clip.frames[0].shape[:2]
    size = (_even(w * 0.5), _even(h * 0.5))
    out = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in clip.frames]
    return out, [(0.0, clip.duration, 0.0)]


def _trim(clip: _Clip, rng: np.random.Generator) -> tuple[list[np.ndarray], list[Segment]]:
    n = len(clip.frames)
    start, stop = int(n * 0.25), int(n * 0.85)
    return clip.frames[start:stop], [(start / clip.fps, stop / clip.fps, 0.0)]


def _cut(clip: _Clip, rng: np.random.Generator) -> tuple[list[np.ndarray], list[Segment]]:
    n, fps = len(clip.frames), clip.fps
    c0, c1 = int(n * 0.35), int(n * 0.65)
    segments = [(0.0, c0 / fps, 0.0), (c1 / fps, n / fps, c0 / fps)]
    return clip.frames[:c0] + clip.frames[c1:], segments


def _logo(clip: _Clip, rng: np.random.Generator) -> tuple[list[np.ndarray], list[Segment]]:
    import cv2

    out = []
    for f in clip.frames:
        g = f.copy()
        h, w = g.shape[:2]
        x0, y0, x1, y1 = int(w * 0.78), int(h * 0.05), int(w * 0.95), int(h * 0.17)
        cv2.rectangle(g, (x0, y0), (x1, y1), (255, 255, 255), -1)
        cv2.putText(
            g, "LOGO", (x0 + 2, y1 - 3), cv2.FONT_HERSHEY_SIMPLEX, (y1 - y0) / 40, (0, 0, 200), 2
        )
        out.append(g)
    return out, [(0.0, clip.duration, 0.0)]


def _border(clip: _Clip, rng: np.random.Generator) -> tuple[list[np.ndarray], list[Segment]]:
    import cv2

    colour = [int(c) for c in rng.integers(0, 256, 3)]
    out = []
    for f in clip.frames:
        h, w = f.shape[:2]
        py, px = _even(h * 0.12) // 2, _even(w * 0.12) // 2
        out.append(cv2.copyMakeBorder(f, py, py, px, px, cv2.BORDER_CONSTANT, value=colour))
    return out, [(0.0, clip.duration, 0.0)]


_Edit = Callable[[_Clip, np.random.Generator], tuple[list[np.ndarray], list[Segment]]]
#: name -> edit, in the order the benchmark reports them
EDITS: dict[str, _Edit] = {
    "reencode": _reencode,
    "resize": _resize,
    "trim": _trim,
    "cut": _cut,
    "logo": _logo,
    "border": _border,
}
#: How far each edit takes a copy from its source, 0 (none) to 1 (unrelated): the basis
#: of the benchmark's derived ratings (stated as derived, not collected from people).
SEVERITY: dict[str, float] = {
    "reencode": 0.10,
    "resize": 0.05,
    "logo": 0.20,
    "border": 0.25,
    "trim": 0.40,
    "cut": 0.50,
}


def apply_edit(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    edit: str,
    *,
    seed: int = 0,
    max_side: int = 480,
) -> list[Segment]:
    """Write ``edit`` of ``source`` to ``dest``; the segments it keeps."""
    if edit not in EDITS:
        raise ValueError(f"unknown edit {edit!r}; choose from: {', '.join(EDITS)}")
    clip = read_clip(source, max_side=max_side)
    frames, segments = EDITS[edit](clip, np.random.default_rng(seed))
    write_clip(dest, frames, clip.fps)
    return segments


def make_slideshow(
    photos: Sequence[str | os.PathLike[str]],
    dest: str | os.PathLike[str],
    *,
    seconds: float = 2.0,
    fps: float = 10.0,
    size: tuple[int, int] = (160, 120),
    fourcc: str = "mp4v",
) -> float:
    """A clip that pans slowly across each photo for ``seconds``: real pictures that
    change every frame, for tests where no real clip is at hand. Returns its duration."""
    import cv2

    w, h = size
    frames: list[np.ndarray] = []
    per = max(1, round(seconds * fps))
    for photo in photos:
        im = cv2.imread(os.fspath(photo), cv2.IMREAD_REDUCED_COLOR_4)
        if im is None:
            raise DecodeError(os.fspath(photo), "cannot read the photo")
        ph, pw = im.shape[:2]
        scale = max(w / pw, h / ph) * 1.5  # room to pan
        im = cv2.resize(im, (round(pw * scale), round(ph * scale)), interpolation=cv2.INTER_AREA)
        ph, pw = im.shape[:2]
        for k in range(per):
            u = k / max(1, per - 1)
            x, y = round(u * (pw - w)), round(u * (ph - h) / 2)
            frames.append(np.ascontiguousarray(im[y : y + h, x : x + w]))
    write_clip(dest, frames, fps, fourcc)
    return len(frames) / fps
