"""Video fingerprints: one perceptual hash per sampled frame, with time and a blank mask.

The shape of Meta's vPDQ (``ThreatExchange/vpdq``: one PDQ hash per second, each with its
time stamp and quality) built on this engine's own batch methods: frames from
:func:`~lookalike.video.frames.sample_frames`, uniform borders trimmed (letterboxing and
added frames, as perception's ``unletterbox`` does for black bars), then pHash
(:class:`lookalike.methods.hashes.PHash`) over the whole batch. Frames of almost one
colour (fades, black or white slates) are flagged *blank*: their hashes are noise, and
matching ignores them so they do not match everything (vPDQ drops frames whose PDQ quality
is low for the same reason).
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from lookalike.errors import DecodeError
from lookalike.methods import CodeMethod, get_method
from lookalike.video.frames import MAX_VIDEO_PIXELS, MIN_SAMPLES, TIME_LIMIT_S, sample_frames

__all__ = [
    "BLANK_STD",
    "BORDER_TOLERANCE",
    "VideoFingerprint",
    "fingerprint_frames",
    "fingerprint_video",
    "trim_border",
]

#: A frame whose grey standard deviation (0-255 scale) after border trimming is below
#: this is blank. Measured: fades and slates with small text sit under 6; the darkest
#: real frames of the corpus clips and the sample-photo clips are above 12.
BLANK_STD = 8.0
#: A border row or column differs from the border colour by at most this much (grey
#: levels) in 98% of its pixels: survives re-encoding, not a real edge.
BORDER_TOLERANCE = 20
#: Never trim more than this share of the height or width (else the frame is blank).
MAX_TRIM = 0.8

_MAGIC = b"LKVF"
_VERSION = 1


def _border_lines(grey: np.ndarray, colour: float, axis: int) -> np.ndarray:
    """Per row (axis=1) or column (axis=0): True when it is all border colour."""
    near = np.abs(grey.astype(np.int16) - round(colour)) <= BORDER_TOLERANCE
    return near.mean(axis=axis) >= 0.98


def trim_border(grey: np.ndarray) -> np.ndarray | None:
    """The frame without uniform borders (letterbox, pillarbox, an added frame of any
    colour), or None when trimming would leave less than ``1 - MAX_TRIM`` of a side.

    Borders are trimmed twice, re-estimating the colour from the new outer ring, so an
    added white frame around a letterboxed picture comes off too.
    """
    top, bottom, left, right = 0, grey.shape[0], 0, grey.shape[1]
    for _ in range(2):
        g = grey[top:bottom, left:right]
        if g.size == 0:
            return None
        ring = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
        colour = float(np.median(ring))
        rows = _border_lines(g, colour, axis=1)
        cols = _border_lines(g, colour, axis=0)
        if rows.all() or cols.all():
            return None
        t = int(np.argmin(rows))
        b = len(rows) - int(np.argmin(rows[::-1]))
        lft = int(np.argmin(cols))
        rgt = len(cols) - int(np.argmin(cols[::-1]))
        if (t, b, lft, rgt) == (0, len(rows), 0, len(cols)):
            break
        top, bottom, left, right = top + t, top + b, left + lft, left + rgt
    h, w = grey.shape
    if (bottom - top) < (1 - MAX_TRIM) * h or (right - left) < (1 - MAX_TRIM) * w:
        return None
    return grey[top:bottom, left:right]


def fingerprint_frames(
    frames: list[np.ndarray], method: CodeMethod | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(codes, blank) of BGR (or grey) frames: one code row per frame, in one batch."""
    import cv2

    method = method or _phash()
    images: list[Image.Image] = []
    blank = np.zeros(len(frames), dtype=bool)
    for i, frame in enumerate(frames):
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        core = trim_border(grey)
        if core is None or float(core.std()) < BLANK_STD:
            blank[i] = True
            core = grey
        images.append(Image.fromarray(np.ascontiguousarray(core)))
    if not images:
        return np.zeros((0, method.bits // 8), dtype=np.uint8), blank
    return np.asarray(method.features(images), dtype=np.uint8), blank


def _phash() -> CodeMethod:
    method = get_method("phash")
    assert isinstance(method, CodeMethod)
    return method


@dataclass(frozen=True, eq=False)
class VideoFingerprint:
    """One video's sampled frames as hashes: times, codes, blank mask and stream facts.

    ``to_bytes`` / ``from_bytes`` give a compact, versioned record for caches.
    """

    path: str
    times: np.ndarray  #: (n,) float64 seconds
    codes: np.ndarray  #: (n, nbytes) uint8 pHash codes
    blank: np.ndarray  #: (n,) bool, True for blank / near-blank frames
    duration: float  #: seconds
    fps: float  #: the stream's declared frame rate
    width: int
    height: int
    rate: float = 1.0  #: samples per second
    method: str = "phash"
    extra: dict[str, Any] = field(default_factory=dict)
    #: codes of the frames mirrored left to right (``fingerprint_video(mirror=True)``);
    #: not stored by :meth:`to_bytes`: the side whose pixels are at hand computes them
    mirror_codes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.times)

    def mirrored(self) -> VideoFingerprint | None:
        """This video mirrored left to right (its mirror codes as its codes), or None when
        they were not computed."""
        if self.mirror_codes is None:
            return None
        return dataclasses.replace(self, codes=self.mirror_codes, mirror_codes=self.codes)

    @property
    def valid(self) -> np.ndarray:
        """Indices of the frames that are not blank."""
        return np.flatnonzero(~self.blank)

    def to_bytes(self) -> bytes:
        """``LKVF``, version, header length, a JSON header, then the three arrays."""
        header = {
            "path": self.path,
            "n": len(self.times),
            "nbytes": int(self.codes.shape[1]) if self.codes.ndim == 2 else 0,
            "duration": self.duration,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "rate": self.rate,
            "method": self.method,
            "extra": self.extra,
        }
        head = json.dumps(header, ensure_ascii=False).encode("utf-8")
        return b"".join(
            [
                _MAGIC,
                struct.pack("<HI", _VERSION, len(head)),
                head,
                np.ascontiguousarray(self.times, dtype="<f8").tobytes(),
                np.ascontiguousarray(self.codes, dtype=np.uint8).tobytes(),
                np.packbits(np.asarray(self.blank, dtype=bool)).tobytes(),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> VideoFingerprint:
        """The inverse of :meth:`to_bytes`; ValueError on anything else."""
        if data[:4] != _MAGIC or len(data) < 10:
            raise ValueError("not a lookalike video fingerprint")
        version, hlen = struct.unpack_from("<HI", data, 4)
        if version != _VERSION:
            raise ValueError(f"video fingerprint version {version}, expected {_VERSION}")
        h = json.loads(data[10 : 10 + hlen].decode("utf-8"))
        n, nb = int(h["n"]), int(h["nbytes"])
        pos = 10 + hlen
        need = pos + 8 * n + n * nb + (n + 7) // 8
        if len(data) != need:
            raise ValueError(f"video fingerprint of {len(data)} bytes, expected {need}")
        times = np.frombuffer(data, dtype="<f8", count=n, offset=pos).astype(np.float64)
        pos += 8 * n
        codes = np.frombuffer(data, dtype=np.uint8, count=n * nb, offset=pos).reshape(n, nb)
        pos += n * nb
        blank = np.unpackbits(np.frombuffer(data, dtype=np.uint8, offset=pos), count=n)
        return cls(
            path=h["path"],
            times=times,
            codes=codes.copy(),
            blank=blank.astype(bool),
            duration=float(h["duration"]),
            fps=float(h["fps"]),
            width=int(h["width"]),
            height=int(h["height"]),
            rate=float(h["rate"]),
            method=str(h["method"]),
            extra=dict(h.get("extra") or {}),
        )


def fingerprint_video(
    path: str | os.PathLike[str],
    *,
    rate: float = 1.0,
    min_samples: int = MIN_SAMPLES,
    max_pixels: int = MAX_VIDEO_PIXELS,
    time_limit: float = TIME_LIMIT_S,
    mirror: bool = False,
) -> VideoFingerprint:
    """The fingerprint of one video: ``rate`` frames per second (vPDQ: 1), faster for
    clips shorter than ``min_samples`` seconds, pHash each; with ``mirror`` also the codes
    of every frame mirrored left to right (``mirror_codes``: one more pHash batch, no
    more decoding), so that a mirrored copy can be matched.

    Raises :class:`~lookalike.errors.DecodeError` naming the file and the reason.
    """
    name = os.fspath(path)
    sampled = sample_frames(
        name, rate=rate, min_samples=min_samples, max_pixels=max_pixels, time_limit=time_limit
    )
    try:
        codes, blank = fingerprint_frames(sampled.frames)
        mirror_codes = (
            fingerprint_frames([np.ascontiguousarray(f[:, ::-1]) for f in sampled.frames])[0]
            if mirror
            else None
        )
    except (ValueError, OSError) as exc:  # pragma: no cover - frames are plain arrays
        raise DecodeError(name, f"cannot hash the frames: {exc}") from exc
    return VideoFingerprint(
        path=name,
        times=sampled.times,
        codes=codes,
        blank=blank,
        duration=sampled.duration,
        fps=sampled.fps,
        width=sampled.width,
        height=sampled.height,
        rate=sampled.rate,
        mirror_codes=mirror_codes,
    )
