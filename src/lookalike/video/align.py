"""Two videos compared in time: the share of matching frames and the aligned segments.

Frame matching follows Meta's vPDQ (``ThreatExchange/vpdq``, ``vpdq_match``): a frame of A
*matches* when some frame of B is within a Hamming distance, the share of A's frames that
match and the share of B's are reported both ways, and blank frames are left out of both.
Alignment adds what vPDQ's bag of frames leaves out: matched pairs vote for the time offset
``t_b - t_a`` (a Hough vote over offsets, as temporal alignment in TMK and in ViSiL-style
video copy detection), the frames of A that agree with the winning offset form runs, the
longest run becomes a segment, and the vote repeats on what is left, so a copy with a cut
gives two segments with two offsets.

Thresholds (measured on the sample-photo slideshows and the corpus clips at 4 samples
per second, with the six edits of :mod:`lookalike.video.edits`; see docs/video.md):

* :data:`FRAME_DISTANCE` 12 bits of 64: 95-100% of true frame pairs of re-encoded,
  resized, trimmed and cut copies are within it (76% with a logo), while 0.1% of
  unrelated frame pairs are within 14 and 1% within 20;
* :data:`MIN_SEGMENT_FRAMES` 3 agreeing frames spanning :data:`MIN_SEGMENT_SECONDS` 1 s
  make a segment;
* :data:`MATCH_COVERAGE` 0.5: a pair is a match when segments cover half of either video.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lookalike.methods.base import hamming_matrix
from lookalike.video.fingerprint import VideoFingerprint

__all__ = [
    "BEST_SLACK",
    "EXTEND_DISTANCE",
    "FRAME_DISTANCE",
    "MATCH_COVERAGE",
    "MAX_GAP_FRAMES",
    "MIN_SEGMENT_FRAMES",
    "MIN_SEGMENT_SECONDS",
    "Segment",
    "VideoMatch",
    "clock",
    "match_mirrored",
    "match_videos",
]

#: Largest pHash distance (of 64 bits) at which two frames match.
FRAME_DISTANCE = 12
#: Fewest frames of A agreeing with one offset that make a segment.
MIN_SEGMENT_FRAMES = 3
#: Frames already in a segment extend it up to this distance (a seed of
#: ``FRAME_DISTANCE`` matches anchors it first): 1% of unrelated frame pairs are within 20.
EXTEND_DISTANCE = 20
#: A frame's pairs count when within this many bits of its best pair: in a slow scene
#: every nearby frame is within the threshold, and only the best ones tell the offset.
BEST_SLACK = 2
#: Shortest segment, in seconds (three frames of a fast-sampled short clip are not enough:
#: one 0.6 s false segment between the corpus's unrelated v1 and v2 at 6 samples/s).
MIN_SEGMENT_SECONDS = 1.0
#: Unmatched frames a segment may bridge (a logo over a bright scene, a dropped frame).
MAX_GAP_FRAMES = 3
#: Share of either video's duration the segments must cover for a match.
MATCH_COVERAGE = 0.5

_ROWS = 512  # distance matrix rows per block: bounds memory on long videos


def clock(seconds: float) -> str:
    """``mm:ss`` (``h:mm:ss`` past an hour), tenths when the time is not whole."""
    tenths = round(seconds * 10)
    s, t = divmod(tenths, 10)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    core = f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
    return f"{core}.{t}" if t else core


@dataclass(frozen=True)
class Segment:
    """``a_start..a_end`` of A is ``b_start..b_end`` of B; ``share`` of A's frames in it
    have their match at this offset."""

    a_start: float
    a_end: float
    b_start: float
    b_end: float
    share: float
    frames: int

    @property
    def offset(self) -> float:
        """``t_b - t_a`` in seconds."""
        return self.b_start - self.a_start

    def describe(self) -> str:
        return (
            f"{clock(self.a_start)}-{clock(self.a_end)} of A is "
            f"{clock(self.b_start)}-{clock(self.b_end)} of B, {self.share:.0%} of frames"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "a_start": round(self.a_start, 3),
            "a_end": round(self.a_end, 3),
            "b_start": round(self.b_start, 3),
            "b_end": round(self.b_end, 3),
            "offset": round(self.offset, 3),
            "share": round(self.share, 4),
            "frames": self.frames,
            "text": self.describe(),
        }


@dataclass(frozen=True)
class VideoMatch:
    """The comparison of two video fingerprints."""

    a: str
    b: str
    match: bool
    share_a: float  #: share of A's non-blank frames with a match in B (vPDQ's query %)
    share_b: float  #: share of B's non-blank frames with a match in A (vPDQ's compared %)
    coverage_a: float  #: share of A's duration inside segments
    coverage_b: float
    segments: list[Segment] = field(default_factory=list)  #: in A's time order
    duration_a: float = 0.0
    duration_b: float = 0.0
    blank_a: int = 0
    blank_b: int = 0
    mirrored: bool = False  #: matched as mirror images (:func:`match_mirrored`)

    @property
    def offset(self) -> float | None:
        """The longest segment's offset ``t_b - t_a``, or None without segments."""
        if not self.segments:
            return None
        return max(self.segments, key=lambda s: s.a_end - s.a_start).offset

    @property
    def similarity(self) -> float:
        """One graded number in [0, 1]: the mean of both coverages, times the segments'
        frame share weighted by their length (0 without segments). A trimmed copy covers
        all of itself but part of its source, so it scores below a re-encoded one."""
        if not self.segments:
            return 0.0
        lengths = np.array([s.a_end - s.a_start for s in self.segments])
        shares = np.array([s.share for s in self.segments])
        share = float((lengths * shares).sum() / max(lengths.sum(), 1e-9))
        return 0.5 * (self.coverage_a + self.coverage_b) * share

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "match": self.match,
            "similarity": round(self.similarity, 4),
            "share_a": round(self.share_a, 4),
            "share_b": round(self.share_b, 4),
            "coverage_a": round(self.coverage_a, 4),
            "coverage_b": round(self.coverage_b, 4),
            "offset": None if self.offset is None else round(self.offset, 3),
            "duration_a": round(self.duration_a, 3),
            "duration_b": round(self.duration_b, 3),
            "blank_frames_a": self.blank_a,
            "blank_frames_b": self.blank_b,
            "segments": [s.to_dict() for s in self.segments],
        } | ({"mirrored": True} if self.mirrored else {})


def _pairs(
    a: np.ndarray, b: np.ndarray, threshold: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and distances of the code pairs within ``threshold``, each no
    more than :data:`BEST_SLACK` above its row's best, computed block by block."""
    rows, cols, dist = [], [], []
    for start in range(0, len(a), _ROWS):
        d = hamming_matrix(a[start : start + _ROWS], b)
        if d.shape[1] == 0:
            break
        best = d.min(axis=1, keepdims=True)
        i, j = np.nonzero((d <= threshold) & (d <= best + BEST_SLACK))
        rows.append(i + start)
        cols.append(j)
        dist.append(d[i, j])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(dist)


def _best_offset(dt: np.ndarray, weight: np.ndarray, tol: float) -> float:
    """The offset with the most weight within ``tol`` (a sliding-window Hough vote)."""
    order = np.argsort(dt, kind="stable")
    d, w = dt[order], weight[order]
    cum = np.r_[0.0, np.cumsum(w)]
    lo = np.searchsorted(d, d - tol, side="left")
    hi = np.searchsorted(d, d + tol, side="right")
    votes = cum[hi] - cum[lo]
    k = int(np.argmax(votes))
    window = d[lo[k] : hi[k]]
    return float(np.median(window))


def match_videos(
    a: VideoFingerprint,
    b: VideoFingerprint,
    *,
    threshold: int = FRAME_DISTANCE,
    extend: int = EXTEND_DISTANCE,
    min_frames: int = MIN_SEGMENT_FRAMES,
    max_gap: int = MAX_GAP_FRAMES,
    min_coverage: float = MATCH_COVERAGE,
) -> VideoMatch:
    """Compare two fingerprints: shares both ways, then the aligned segments."""
    va, vb = a.valid, b.valid
    ta, tb = a.times[va], b.times[vb]
    pi, pj, dist = _pairs(a.codes[va], b.codes[vb], max(threshold, extend))
    strict = dist <= threshold
    share_a = len(np.unique(pi[strict])) / len(va) if len(va) else 0.0
    share_b = len(np.unique(pj[strict])) / len(vb) if len(vb) else 0.0
    step_a, step_b = 1.0 / a.rate, 1.0 / b.rate
    tol = 0.5 * (step_a + step_b) + 0.05
    dt_all = tb[pj] - ta[pi] if len(pi) else np.zeros(0)
    # a frame of A that matches many frames of B (a still scene) votes with weight 1 in all
    per_row = np.bincount(pi[strict], minlength=len(va))
    weight_all = 1.0 / np.maximum(per_row[pi], 1)
    free = np.ones(len(va), dtype=bool)
    segments: list[Segment] = []
    while True:
        live = free[pi] & strict
        if not live.any():
            break
        o = _best_offset(dt_all[live], weight_all[live], tol)
        near = free[pi] & (np.abs(dt_all - o) <= tol)
        support = np.zeros(len(va), dtype=bool)
        support[pi[near]] = True
        seeds = np.zeros(len(va), dtype=bool)
        seeds[pi[near & strict]] = True
        run = _longest_run(support, free, max_gap)
        if run is None or int(seeds[run[0] : run[1]].sum()) < min_frames:
            break
        lo, hi = run
        sel = near & (pi >= lo) & (pi < hi)
        offset = float(np.median(dt_all[sel]))
        n_sup = int(support[lo:hi].sum())
        a0, a1 = float(ta[lo]), float(min(ta[hi - 1] + step_a, a.duration))
        if a1 - a0 < MIN_SEGMENT_SECONDS:
            break
        b0, b1 = max(0.0, a0 + offset), min(b.duration, a1 + offset)
        segments.append(Segment(a0, a1, b0, b1, n_sup / (hi - lo), n_sup))
        free[lo:hi] = False
    segments.sort(key=lambda s: s.a_start)
    cov_a = _coverage([(s.a_start, s.a_end) for s in segments], a.duration)
    cov_b = _coverage([(s.b_start, s.b_end) for s in segments], b.duration)
    return VideoMatch(
        a=a.path,
        b=b.path,
        match=bool(segments) and max(cov_a, cov_b) >= min_coverage,
        share_a=share_a,
        share_b=share_b,
        coverage_a=cov_a,
        coverage_b=cov_b,
        segments=segments,
        duration_a=a.duration,
        duration_b=b.duration,
        blank_a=int(a.blank.sum()),
        blank_b=int(b.blank.sum()),
    )


def _longest_run(support: np.ndarray, free: np.ndarray, max_gap: int) -> tuple[int, int] | None:
    """[lo, hi) of the free frames with the most support, bridging up to ``max_gap``
    unsupported frames; starts and ends on supported frames."""
    best: tuple[int, int] | None = None
    best_n = 0
    start = last = -1
    n = gap = 0
    for k in range(len(support) + 1):
        ok = k < len(support) and free[k]
        if ok and support[k]:
            if start < 0:
                start, n = k, 0
            last, gap, n = k, 0, n + 1
            continue
        if start >= 0 and ok and gap < max_gap:
            gap += 1
            continue
        if start >= 0:
            if n > best_n:
                best, best_n = (start, last + 1), n
            start, n, gap = -1, 0, 0
    return best


def _coverage(spans: list[tuple[float, float]], duration: float) -> float:
    """Share of ``duration`` covered by the union of spans."""
    if duration <= 0 or not spans:
        return 0.0
    total, end = 0.0, -np.inf
    for s, e in sorted(spans):
        s = max(s, end)
        if e > s:
            total += e - s
            end = e
    return min(1.0, total / duration)


def match_mirrored(a: VideoFingerprint, b: VideoFingerprint) -> VideoMatch:
    """:func:`match_videos`, and where that finds no match, the same with one side mirrored
    left to right (whichever fingerprint carries ``mirror_codes``): a flipped copy is
    found with its segments, marked ``mirrored``. Without mirror codes on either side
    this is :func:`match_videos`."""
    plain = match_videos(a, b)
    if plain.match:
        return plain
    mb = b.mirrored()
    flipped = match_videos(a, mb) if mb is not None else None
    if flipped is None:
        ma = a.mirrored()
        flipped = match_videos(ma, b) if ma is not None else None
    if flipped is None or not flipped.match:
        return plain
    return dataclasses.replace(flipped, mirrored=True)
