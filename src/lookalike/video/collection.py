"""Many videos at once: groups of copies among them, and where a still frame appears.

Candidates come from one exact Hamming radius join over every non-blank frame code
(:func:`lookalike.store.hamming.radius_pairs`), so videos that share no frame are never
aligned; each candidate pair is then aligned by :func:`~lookalike.video.align.match_videos`.
Groups are stars around a keeper (highest resolution, then longest, then path), as the
image duplicate finder groups photos: every member matches its keeper directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from lookalike.errors import DecodeError, Failure, LookalikeError
from lookalike.formats import VIDEO_HEAD_BYTES, sniff_video
from lookalike.video.align import FRAME_DISTANCE, VideoMatch, match_videos
from lookalike.video.fingerprint import VideoFingerprint, fingerprint_frames, fingerprint_video
from lookalike.video.frames import MIN_SAMPLES, SAMPLE_SIDE, TIME_LIMIT_S

__all__ = [
    "LOCATE_BUDGET_S",
    "LOCATE_DISTANCE",
    "LOCATE_VIDEOS",
    "VIDEO_EXTENSIONS",
    "VideoGroup",
    "VideoReport",
    "find_frame",
    "find_video_duplicates",
    "frame_code",
    "locate_frame",
    "scan_videos",
]

#: Names that promise a video: such a file whose content is not one is reported.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".flv", ".3gp"}
)

Progress = Callable[[str, int, int], None]


def scan_videos(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[Failure]]:
    """Video files under ``paths`` (files or folders), recognised by content; files named
    like videos that hold something else become failures."""
    found: list[str] = []
    failures: list[Failure] = []

    def visit(path: str) -> None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(VIDEO_HEAD_BYTES)
        except OSError as exc:
            failures.append(Failure(path, f"cannot read: {exc.strerror or exc}"))
            return
        if sniff_video(head) is not None:
            found.append(path)
        elif os.path.splitext(path)[1].lower() in VIDEO_EXTENSIONS:
            failures.append(Failure(path, "empty file (0 bytes)" if not head else "not a video"))

    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    visit(os.path.join(root, f))
        elif os.path.exists(p):
            visit(p)
        else:
            failures.append(Failure(p, "no such file or folder"))
    return found, failures


@dataclass(frozen=True)
class VideoGroup:
    """A keeper and the videos that match it, each with its alignment to the keeper."""

    keeper: str
    members: list[VideoMatch]

    def to_dict(self) -> dict[str, Any]:
        return {"keeper": self.keeper, "copies": [m.to_dict() for m in self.members]}


@dataclass
class VideoReport:
    """Groups of copies, the videos scanned and the failures."""

    groups: list[VideoGroup] = field(default_factory=list)
    videos: int = 0
    failures: list[Failure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "videos": self.videos,
            "groups": [g.to_dict() for g in self.groups],
            "failures": [f.to_dict() for f in self.failures],
        }


def _candidates(fps: Sequence[VideoFingerprint], radius: int) -> set[tuple[int, int]]:
    from lookalike.store.hamming import radius_pairs

    owner = np.concatenate(
        [np.full(len(f.valid), k, dtype=np.int64) for k, f in enumerate(fps)]
        or [np.zeros(0, dtype=np.int64)]
    )
    codes = [f.codes[f.valid] for f in fps]
    if not codes or sum(len(c) for c in codes) < 2:
        return set()
    i, j, _ = radius_pairs(np.concatenate(codes), radius, use_faiss=False)
    a, b = owner[i], owner[j]
    keep = a != b
    lo, hi = np.minimum(a, b)[keep], np.maximum(a, b)[keep]
    return {(int(x), int(y)) for x, y in zip(lo, hi, strict=True)}


def find_video_duplicates(
    paths: Iterable[str | os.PathLike[str]],
    *,
    rate: float = 1.0,
    min_samples: int = MIN_SAMPLES,
    time_limit: float = TIME_LIMIT_S,
    progress: Progress | None = None,
) -> VideoReport:
    """Groups of duplicate videos under ``paths``; unreadable videos become failures."""
    files, failures = scan_videos(paths)
    fps: list[VideoFingerprint] = []
    for k, path in enumerate(files):
        try:
            fps.append(
                fingerprint_video(path, rate=rate, min_samples=min_samples, time_limit=time_limit)
            )
        except LookalikeError as exc:
            failures.append(Failure(path, exc.reason))
        if progress:
            progress("fingerprinting", k + 1, len(files))
    matches: dict[tuple[int, int], VideoMatch] = {}
    pairs = sorted(_candidates(fps, FRAME_DISTANCE))
    for k, (i, j) in enumerate(pairs):
        m = match_videos(fps[i], fps[j])
        if m.match:
            matches[i, j] = m
        if progress:
            progress("aligning", k + 1, len(pairs))
    order = sorted(
        range(len(fps)),
        key=lambda k: (-fps[k].width * fps[k].height, -fps[k].duration, fps[k].path),
    )
    taken: set[int] = set()
    groups: list[VideoGroup] = []
    for k in order:
        if k in taken:
            continue
        others = [o for o in order if o != k and o not in taken and _key(k, o) in matches]
        if not others:
            continue
        members = [
            matches[k, o] if k < o else match_videos(fps[k], fps[o])  # keeper as A
            for o in others
        ]
        taken.update([k, *others])
        groups.append(VideoGroup(fps[k].path, members))
    return VideoReport(groups=groups, videos=len(fps), failures=failures)


def _key(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i < j else (j, i)


def frame_code(
    image: str | os.PathLike[str] | IO[bytes] | np.ndarray, *, mirror: bool = False
) -> tuple[np.ndarray, bool]:
    """``(code, blank)`` of a still image hashed as a sampled video frame is: shrunk to
    the sampling side, borders trimmed, pHash (8 bytes); ``image`` is a path, a binary
    file or a BGR array; ``mirror``: of the image mirrored left to right."""
    if isinstance(image, np.ndarray):
        bgr = image
    else:
        from lookalike.decode import load

        rgb = np.asarray(load(image, mode="RGB", min_size=SAMPLE_SIDE))
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    if mirror:
        bgr = np.ascontiguousarray(bgr[:, ::-1])
    from lookalike.video.frames import shrink

    codes, blank = fingerprint_frames([shrink(bgr, SAMPLE_SIDE)])
    return codes[0], bool(blank[0])


def find_frame(
    image: str | os.PathLike[str] | np.ndarray,
    fingerprints: Sequence[VideoFingerprint],
    *,
    max_distance: int = FRAME_DISTANCE,
) -> list[tuple[str, float, int]]:
    """Where a still image appears: ``(video, seconds, distance)``, the best frame of each
    video within ``max_distance``, nearest first (search by a screenshot)."""
    code, blank = frame_code(image)
    if blank:
        return []
    from lookalike.methods.base import hamming

    hits = []
    for fp in fingerprints:
        valid = fp.valid
        if not len(valid):
            continue
        d = hamming(fp.codes[valid], code)
        k = int(np.argmin(d))
        if d[k] <= max_distance:
            hits.append((fp.path, float(fp.times[valid[k]]), int(d[k])))
    return sorted(hits, key=lambda h: (h[2], h[0], h[1]))


#: A still's candidate videos: a sampled frame within this many bits. Stills between two
#: samples of a panning slideshow were 14-28 bits from the nearest sample (23 of 151 over
#: :data:`~lookalike.video.align.FRAME_DISTANCE`), unrelated frames are within 24 bits in
#: a few percent of pairs; :func:`locate_frame` then decides at FRAME_DISTANCE.
LOCATE_DISTANCE = 24
#: Candidate videos decoded around their best sample per still (nearest first), and the
#: wall-clock seconds all their decoding may take (then the samples stand as they are).
LOCATE_VIDEOS = 8
LOCATE_BUDGET_S = 2.0


def locate_frame(
    path: str | os.PathLike[str],
    code: np.ndarray,
    start: float,
    end: float,
    *,
    time_limit: float = 20.0,
) -> tuple[float, int] | None:
    """``(seconds, distance)`` of the frame between ``start`` and ``end`` whose pHash is
    nearest ``code`` (a still's :func:`frame_code`), every frame decoded: a still taken
    between two samples of fast footage is found at its own frame, not at a sample up to
    28 bits away (measured on panning slideshows; ``bench/video_search.py``). None when
    no non-blank frame decodes there or the file cannot be read."""
    from lookalike.video.frames import frames_between

    try:
        times, frames = frames_between(path, start, end, time_limit=time_limit)
    except (DecodeError, OSError):
        return None
    if not frames:
        return None
    codes, blank = fingerprint_frames(frames)
    d = np.unpackbits(codes ^ np.asarray(code, np.uint8)[None, :], axis=1).sum(axis=1)
    d = np.where(blank, 10**6, d)
    k = int(np.argmin(d))
    return (float(times[k]), int(d[k])) if not blank[k] else None
