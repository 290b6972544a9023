"""Frames sampled from a video at a fixed rate, decoded by OpenCV and shrunk at once.

vPDQ (Meta, ``ThreatExchange/vpdq``) hashes one frame per second; TMK (Meta, TMK+PDQF)
also starts from frames resampled at a fixed rate. Sampling here follows the stream's own
time stamps (``CAP_PROP_POS_MSEC`` after each ``grab``), so variable frame rates give the
frame shown at each sample time: every frame is grabbed (the decoder must decode it
anyway), only sampled frames are converted (``retrieve``) and each is reduced to at most
:data:`SAMPLE_SIDE` pixels before anything else touches it.

Limits, checked before and during decoding, each a :class:`~lookalike.errors.DecodeError`
that names the file and the reason: empty files, content that is no video container,
files OpenCV cannot open (a truncated MP4 without its index, audio only), streams whose
declared frame size exceeds ``max_pixels`` (refused before the first frame is decoded),
streams without a decodable frame, and a wall-clock limit per file checked inside the
frame loop (and passed to FFmpeg as its open / read timeout).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from lookalike.errors import DecodeError
from lookalike.formats import VIDEO_HEAD_BYTES, sniff_video

__all__ = [
    "MAX_RATE",
    "MAX_VIDEO_PIXELS",
    "MIN_SAMPLES",
    "SAMPLE_SIDE",
    "TIME_LIMIT_S",
    "Sampled",
    "frame_at",
    "frame_jpeg",
    "frames_between",
    "open_capture",
    "sample_frames",
    "shrink",
]

#: Long side, in pixels, of a sampled frame: enough for a 32x32 pHash after trimming a
#: border, small enough that a 2-hour video's samples fit in ~100 MB.
SAMPLE_SIDE = 128
#: Largest declared frame size accepted (8K UHD is 33.2 MP): a larger stream is refused
#: before any frame is decoded.
MAX_VIDEO_PIXELS = 7680 * 4320
#: Samples a video gets at least (short clips are sampled faster than ``rate``, up to
#: :data:`MAX_RATE`): at 1 per second a 6-second clip trimmed at 1.5 s shares no frame
#: time with its source and fast scenes stop matching (measured on the corpus's v2).
MIN_SAMPLES = 30
#: The fastest sampling ``MIN_SAMPLES`` may ask for, per second.
MAX_RATE = 8.0
#: Default wall-clock limit per file, in seconds.
TIME_LIMIT_S = 600.0


@dataclass(frozen=True)
class Sampled:
    """The sampled frames of one video and what its stream declared."""

    times: np.ndarray  #: (n,) float64 seconds from the stream's time stamps
    frames: list[np.ndarray]  #: n small BGR uint8 arrays, long side <= SAMPLE_SIDE
    duration: float  #: seconds decoded: last frame's time plus one frame
    fps: float  #: the stream's declared frame rate (0 when unknown)
    width: int  #: declared frame width
    height: int  #: declared frame height
    decoded: int  #: frames decoded in all (grabbed)
    rate: float  #: samples per second used


def shrink(frame: np.ndarray, side: int) -> np.ndarray:
    import cv2

    h, w = frame.shape[:2]
    scale = side / max(h, w)
    if scale >= 1.0:
        return np.ascontiguousarray(frame)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def open_capture(name: str, time_limit: float) -> Any:
    """``cv2.VideoCapture`` on FFmpeg with ``time_limit`` as its open and read timeouts.

    A file FFmpeg cannot open is reported once, as the caller's DecodeError: FFmpeg's own
    log (``moov atom not found``) and OpenCV's warning are kept off stderr while it opens
    (``OPENCV_FFMPEG_LOGLEVEL`` set by the user wins).
    """
    import cv2

    limit_ms = max(1, int(time_limit * 1000))
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, limit_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, limit_ms]
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET, read at first open
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(min(level, logging.LOG_LEVEL_ERROR))
    try:
        return cv2.VideoCapture(name, cv2.CAP_FFMPEG, params)
    finally:
        logging.setLogLevel(level)


def _check_head(path: str) -> None:
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(VIDEO_HEAD_BYTES)
    except OSError as exc:
        raise DecodeError(path, f"cannot read: {exc.strerror or exc}") from exc
    if size == 0:
        raise DecodeError(path, "empty file (0 bytes)")
    if sniff_video(head) is None:
        from lookalike.formats import describe, sniff

        what = sniff(head)
        raise DecodeError(path, f"not a video: the content is {what or describe(head)}")


def sample_frames(
    path: str | os.PathLike[str],
    *,
    rate: float = 1.0,
    min_samples: int = MIN_SAMPLES,
    side: int = SAMPLE_SIDE,
    max_pixels: int = MAX_VIDEO_PIXELS,
    time_limit: float = TIME_LIMIT_S,
) -> Sampled:
    """Frames at ``rate`` per second (the first at 0 s), each shrunk to ``side`` pixels;
    faster (up to :data:`MAX_RATE`) when the declared duration would give fewer than
    ``min_samples`` frames.

    A sample time ``k / rate`` takes the first frame whose time stamp reaches it (less half
    a frame); a gap in a variable-rate stream skips the sample times it spans.
    """
    import cv2

    name = os.fspath(path)
    if rate <= 0:
        raise ValueError(f"rate must be > 0 frames per second, got {rate}")
    _check_head(name)
    deadline = time.monotonic() + time_limit
    with _opened(name, time_limit) as (cap, width, height):
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if width <= 0 or height <= 0:
            raise DecodeError(name, "no video stream (audio only or corrupt)")
        if width * height > max_pixels:
            raise DecodeError(
                name,
                f"too large: {width}x{height} frames ({width * height / 1e6:.1f} MP) exceed "
                f"the limit of {max_pixels / 1e6:.1f} MP",
            )
        frame_s = 1.0 / fps if 0 < fps < 1000 else 0.0
        count = float(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        declared = count * frame_s if count > 0 and math.isfinite(count) else 0.0
        if min_samples and declared > 0:
            rate = max(rate, min(MAX_RATE, min_samples / declared))
        step = 1.0 / rate
        times: list[float] = []
        frames: list[np.ndarray] = []
        next_t = 0.0
        last_t = -math.inf
        decoded = 0
        while True:
            if time.monotonic() > deadline:
                raise DecodeError(name, f"decoding took longer than the limit of {time_limit:g} s")
            if not cap.grab():
                break
            decoded += 1
            t = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
            if not math.isfinite(t) or t <= last_t:  # no usable time stamp: count frames
                t = last_t + frame_s if last_t > -math.inf and frame_s else (decoded - 1) * step
            last_t = t
            if t + frame_s / 2 < next_t:
                continue
            ok, frame = cap.retrieve()
            if not ok or frame is None:
                continue
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            frames.append(shrink(frame, side))
            times.append(t)
            next_t = (math.floor(t * rate + 0.5) + 1) * step
        if not frames:
            raise DecodeError(name, "no decodable video frame (truncated or corrupt)")
        return Sampled(
            times=np.asarray(times, dtype=np.float64),
            frames=frames,
            duration=last_t + (frame_s or step),
            fps=fps,
            width=width,
            height=height,
            decoded=decoded,
            rate=rate,
        )


@contextlib.contextmanager
def _showable(name: str, time_limit: float, max_pixels: int) -> Iterator[Any]:
    """An open capture of a video whose frames can be shown (a stream OpenCV opens, of
    a size within ``max_pixels``), released when the block ends."""
    with _opened(name, time_limit) as (cap, width, height):
        if width <= 0 or height <= 0 or width * height > max_pixels:
            raise DecodeError(name, f"no frame can be shown ({width}x{height})")
        yield cap


@contextlib.contextmanager
def _opened(name: str, time_limit: float) -> Iterator[tuple[Any, int, int]]:
    """An open capture of ``name`` and its declared frame width and height (maybe 0 for
    a broken stream), released when the block ends; DecodeError when OpenCV cannot open
    a video stream at all."""
    import cv2

    cap = open_capture(name, time_limit)
    try:
        if not cap.isOpened():
            raise DecodeError(
                name, "no video stream OpenCV can open (truncated, audio only or corrupt)"
            )
        yield cap, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()


def frame_at(
    path: str | os.PathLike[str],
    seconds: float,
    *,
    side: int = 480,
    max_pixels: int = MAX_VIDEO_PIXELS,
    time_limit: float = 20.0,
) -> np.ndarray:
    """The frame shown at ``seconds`` (BGR, long side at most ``side``): the still a
    search page shows for a video hit, whatever codec the browser lacks.

    OpenCV seeks (``CAP_PROP_POS_MSEC``); where the seek lands on nothing (a stream whose
    index declares more than decodes) the frames are read from the start up to that time,
    within ``time_limit`` seconds. The limits of :func:`sample_frames` apply.
    """
    import cv2

    name = os.fspath(path)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a time in the video, got {seconds}")
    _check_head(name)
    deadline = time.monotonic() + time_limit
    with _showable(name, time_limit, max_pixels) as cap:
        cap.set(cv2.CAP_PROP_POS_MSEC, seconds * 1000.0)
        ok, frame = cap.read()
        if not ok or frame is None:  # the seek failed: read forward from the start
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            frame = None
            while time.monotonic() < deadline and cap.grab():
                if cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 + 1e-3 >= seconds:
                    ok, frame = cap.retrieve()
                    break
        if frame is None:
            raise DecodeError(name, f"no decodable frame at {seconds:.3f} s")
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return shrink(frame, side)


def frames_between(
    path: str | os.PathLike[str],
    start: float,
    end: float,
    *,
    side: int = SAMPLE_SIDE,
    max_pixels: int = MAX_VIDEO_PIXELS,
    time_limit: float = 20.0,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every frame shown from ``start`` to ``end`` seconds: ``(times, frames)``, each frame
    shrunk to ``side``; for finding the exact frame of a still between two samples.

    Seeks to ``start`` (OpenCV decodes from the key frame before it); where the seek
    lands on nothing, reads from the beginning. Frames are read until the first past
    ``end`` or ``time_limit`` seconds; the limits of :func:`sample_frames` apply.
    """
    import cv2

    name = os.fspath(path)
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < start:
        raise ValueError(f"a span of seconds in the video, got {start} to {end}")
    _check_head(name)
    deadline = time.monotonic() + time_limit
    with _showable(name, time_limit, max_pixels) as cap:
        times: list[float] = []
        frames: list[np.ndarray] = []
        for seek in (start, None):
            if seek is None:  # the seek found nothing: from the beginning
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            else:
                cap.set(cv2.CAP_PROP_POS_MSEC, seek * 1000.0)
            while time.monotonic() < deadline and cap.grab():
                t = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
                if t > end + 1e-3:
                    break
                if t + 1e-3 < start:
                    continue
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    if frame.ndim == 2:
                        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
                    times.append(t)
                    frames.append(shrink(frame, side))
            if frames:
                break
        return np.asarray(times, dtype=np.float64), frames


def frame_jpeg(path: str | os.PathLike[str], seconds: float, *, side: int = 480) -> bytes:
    """:func:`frame_at` as JPEG bytes: the still a page shows for a video (a search hit,
    a review card), whatever codec the browser lacks. DecodeError when none decodes."""
    import cv2

    frame = frame_at(path, seconds, side=side)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:  # pragma: no cover - OpenCV encodes any BGR frame
        raise DecodeError(os.fspath(path), "the frame cannot be encoded as JPEG")
    return bytes(buf.tobytes())
