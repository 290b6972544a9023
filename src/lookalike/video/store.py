"""The videos of a search collection: one fingerprint per video, its frames searchable.

``DIR/videos.sqlite`` beside the collection's catalog (whose schema stays its own) holds a
row per video: its path, size and modification time (an unchanged video is not decoded
again), the stream facts, and its :class:`~lookalike.video.VideoFingerprint` as bytes, or
the reason it failed. The non-blank sampled frames of every video are loaded into one
array (:class:`Frames`: owner video id, time, 64-bit code) the first time they are
searched and reloaded when the file changes (SQLite's ``data_version``, so another
process's ``lookalike index`` is seen too); a still image is matched against it by exact
Hamming distance (:meth:`VideoStore.nearest_frames`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookalike.store.catalog import key_path, path_key
from lookalike.video.fingerprint import VideoFingerprint

__all__ = ["FrameHit", "Frames", "VideoRow", "VideoStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,      -- UTF-8 with surrogateescape, as the catalog's paths
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    duration REAL,
    width INTEGER,
    height INTEGER,
    fingerprint BLOB,               -- VideoFingerprint.to_bytes(); NULL when it failed
    error TEXT,
    updated_ns INTEGER NOT NULL
)
"""
_BATCH = 500


@dataclass(frozen=True)
class VideoRow:
    """One stored video (without its fingerprint)."""

    id: int
    path: str
    duration: float
    width: int
    height: int


@dataclass(frozen=True)
class Frames:
    """Every non-blank sampled frame of the stored videos, one row each."""

    owner: np.ndarray  #: (n,) int64 video id
    times: np.ndarray  #: (n,) float64 seconds
    codes: np.ndarray  #: (n, 8) uint8 pHash codes


@dataclass(frozen=True)
class FrameHit:
    """The best frame of one video for a still image, and the sampled times around it
    (``before`` <= ``time`` <= ``after``: where the still's own frame lies)."""

    video: VideoRow
    time: float
    distance: int
    before: float
    after: float


class VideoStore:
    """``DIR/videos.sqlite`` (see the module docstring); safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        with self._db:
            self._db.execute(_SCHEMA)
        self._frames: tuple[tuple[int, int], Frames] | None = None
        self._writes = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _version(self) -> tuple[int, int]:
        (v,) = self._db.execute("PRAGMA data_version").fetchone()
        return int(v), self._writes

    # ------------------------------------------------------------------ writing

    def unchanged(self, path: str, size: int, mtime_ns: int) -> bool:
        """True when ``path`` is stored with this size and time (fingerprint or failure)."""
        with self._lock:
            row = self._db.execute(
                "SELECT size, mtime_ns FROM videos WHERE path = ?", (path_key(path),)
            ).fetchone()
        return row is not None and (row[0], row[1]) == (size, mtime_ns)

    def error(self, path: str) -> str | None:
        """The stored failure reason of ``path``, if it failed."""
        with self._lock:
            row = self._db.execute(
                "SELECT error FROM videos WHERE path = ?", (path_key(path),)
            ).fetchone()
        return None if row is None else row[0]

    def put(
        self,
        path: str,
        size: int,
        mtime_ns: int,
        fp: VideoFingerprint | None,
        error: str | None = None,
    ) -> None:
        """Store a video's fingerprint (or the reason it failed), replacing an older row."""
        values = (
            size,
            mtime_ns,
            fp.duration if fp else None,
            fp.width if fp else None,
            fp.height if fp else None,
            fp.to_bytes() if fp else None,
            error,
            time.time_ns(),
            path_key(path),
        )
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE videos SET size=?, mtime_ns=?, duration=?, width=?, height=?, "
                "fingerprint=?, error=?, updated_ns=? WHERE path=?",
                values,
            )
            if cur.rowcount == 0:
                self._db.execute(
                    "INSERT INTO videos (size, mtime_ns, duration, width, height, fingerprint, "
                    "error, updated_ns, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
            self._writes += 1

    def forget(self, paths: Iterable[str]) -> int:
        """Drop these videos; how many rows went."""
        keys = [path_key(p) for p in paths]
        n = 0
        with self._lock, self._db:
            for i in range(0, len(keys), _BATCH):
                chunk = keys[i : i + _BATCH]
                marks = ",".join("?" * len(chunk))
                n += self._db.execute(f"DELETE FROM videos WHERE path IN ({marks})", chunk).rowcount
            self._writes += 1
        return n

    # ------------------------------------------------------------------ reading

    def paths_under(self, roots: Iterable[str]) -> list[str]:
        """Stored paths equal to or inside any of ``roots``."""
        with self._lock:
            paths = [key_path(r[0]) for r in self._db.execute("SELECT path FROM videos")]
        out = []
        for root in roots:
            prefix = root.rstrip(os.sep) + os.sep
            out += [p for p in paths if p == root or p.startswith(prefix)]
        return sorted(set(out))

    def counts(self) -> tuple[int, int]:
        """(videos fingerprinted, videos that failed)."""
        with self._lock:
            ok, bad = self._db.execute(
                "SELECT COUNT(fingerprint), COUNT(*) - COUNT(fingerprint) FROM videos"
            ).fetchone()
        return int(ok), int(bad)

    def rows(self, ids: Sequence[int]) -> dict[int, VideoRow]:
        """The fingerprinted videos among ``ids``."""
        out: dict[int, VideoRow] = {}
        with self._lock:
            for i in range(0, len(ids), _BATCH):
                chunk = [int(x) for x in ids[i : i + _BATCH]]
                marks = ",".join("?" * len(chunk))
                for vid, raw, dur, w, h in self._db.execute(
                    "SELECT id, path, duration, width, height FROM videos "
                    f"WHERE fingerprint IS NOT NULL AND id IN ({marks})",
                    chunk,
                ):
                    out[int(vid)] = VideoRow(int(vid), key_path(raw), float(dur), w or 0, h or 0)
        return out

    def fingerprints(self, ids: Sequence[int] | None = None) -> dict[int, VideoFingerprint]:
        """The stored fingerprints (all, or of ``ids``), by video id."""
        sql = "SELECT id, fingerprint FROM videos WHERE fingerprint IS NOT NULL"
        with self._lock:
            if ids is None:
                rows = self._db.execute(sql).fetchall()
            else:
                rows = []
                for i in range(0, len(ids), _BATCH):
                    chunk = [int(x) for x in ids[i : i + _BATCH]]
                    marks = ",".join("?" * len(chunk))
                    rows += self._db.execute(f"{sql} AND id IN ({marks})", chunk).fetchall()
        return {int(vid): VideoFingerprint.from_bytes(bytes(blob)) for vid, blob in rows}

    def frames(self) -> Frames:
        """Every non-blank frame (cached until the file changes)."""
        with self._lock:
            version = self._version()
            if self._frames is not None and self._frames[0] == version:
                return self._frames[1]
            fps = self.fingerprints()
        owner, times, codes = [np.zeros(0, np.int64)], [np.zeros(0)], [np.zeros((0, 8), np.uint8)]
        for vid, fp in sorted(fps.items()):
            valid = fp.valid
            if fp.codes.ndim != 2 or fp.codes.shape[1] != 8:
                continue  # another hash size: not comparable with 64-bit image codes
            owner.append(np.full(len(valid), vid, np.int64))
            times.append(fp.times[valid])
            codes.append(fp.codes[valid])
        frames = Frames(np.concatenate(owner), np.concatenate(times), np.concatenate(codes))
        with self._lock:
            self._frames = (version, frames)
        return frames

    def nearest_frames(self, code: np.ndarray, max_distance: int) -> list[FrameHit]:
        """The best frame of each video within ``max_distance`` bits of ``code`` (8 bytes),
        nearest first (ties: earlier time, then smaller id)."""
        frames = self.frames()
        if not len(frames.owner):
            return []
        q = np.asarray(code, np.uint8).reshape(1, -1)
        d = np.bitwise_count(frames.codes ^ q).sum(axis=1, dtype=np.int64)
        near = np.flatnonzero(d <= max_distance)
        if not len(near):
            return []
        order = near[np.lexsort((frames.times[near], d[near], frames.owner[near]))]
        _, first = np.unique(frames.owner[order], return_index=True)
        best = order[first]
        rows = self.rows(frames.owner[best].tolist())
        hits = []
        for i in best.tolist():
            vid, t = int(frames.owner[i]), float(frames.times[i])
            if vid not in rows:
                continue
            before = float(frames.times[i - 1]) if i > 0 and frames.owner[i - 1] == vid else None
            last = i + 1 >= len(frames.owner) or frames.owner[i + 1] != vid
            after = None if last else float(frames.times[i + 1])
            gap = (after - t) if after is not None else (t - before) if before is not None else 1.0
            hits.append(
                FrameHit(
                    rows[vid],
                    t,
                    int(d[i]),
                    max(0.0, t - gap) if before is None else before,
                    t + gap if after is None else after,
                )
            )
        return sorted(hits, key=lambda h: (h.distance, h.time, h.video.id))

    def candidates(self, codes: np.ndarray, max_distance: int) -> list[int]:
        """Ids of the videos with a frame within ``max_distance`` of any of ``codes``."""
        frames = self.frames()
        found: set[int] = set()
        if not len(frames.owner):
            return []
        for code in np.asarray(codes, np.uint8).reshape(-1, 8):
            d = np.bitwise_count(frames.codes ^ code[None, :]).sum(axis=1, dtype=np.int64)
            found.update(frames.owner[d <= max_distance].tolist())
        return sorted(found)
