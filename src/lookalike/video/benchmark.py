"""Video benchmarks: edited copies of source clips, detection per edit, and Spearman's rho
against ratings of pairs.

``make_video_benchmark`` writes ``sources/`` (the clips), ``queries/`` (every edit of
:mod:`lookalike.video.edits` of every source), ``truth.csv`` (query, source, edit, kept
segments) and ``ratings.csv`` (a, b, rating). The ratings are *derived*, not collected
from people: rating = 5 x (share of the source's duration the copy keeps) - 0.5 for each
visible change (compression artefacts, a logo, a border); a query against another
source's clip is rated 0. They stand in for the human ratings of the origin articles,
which judge video similarity with Spearman's rank correlation; say so where they are used.

``run_video_benchmark`` compares every query with every source (vPDQ-style matching and
alignment) and reports per edit: recall (the query matched its source), aligned (and
every kept segment of 1 s or more has a found segment whose offset is within half a
second), precision (matched pairs that are true), then Spearman's rho against the ratings
(:func:`lookalike.evaluate.metrics.spearman`) of :attr:`VideoMatch.similarity` and, as
the baseline, of vPDQ's bag-of-frames score (the mean of the two shares).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.errors import LookalikeError
from lookalike.formats import is_video
from lookalike.video.align import match_videos
from lookalike.video.edits import EDITS, apply_edit, make_slideshow
from lookalike.video.fingerprint import VideoFingerprint, fingerprint_video

__all__ = [
    "VISIBLE_CHANGES",
    "make_video_benchmark",
    "rate_video_pairs",
    "rating",
    "run_video_benchmark",
]

Progress = Callable[[str, int, int], None]
#: Edits a viewer would see (each costs half a point of the derived rating).
VISIBLE_CHANGES = {"reencode": 1, "logo": 1, "border": 1}
#: Offset error allowed for "aligned", in seconds.
OFFSET_TOLERANCE = 0.5


def rating(edit: str, segments: Sequence[tuple[float, float, float]], duration: float) -> float:
    """The derived rating (0-5) of a copy made by ``edit`` that keeps ``segments``."""
    kept = sum(a1 - a0 for a0, a1, _ in segments) / duration if duration > 0 else 0.0
    return round(max(0.0, 5.0 * min(kept, 1.0) - 0.5 * VISIBLE_CHANGES.get(edit, 0)), 3)


def make_video_benchmark(
    clips: str | Path | None,
    out: str | Path,
    *,
    photos: str | Path | None = None,
    slideshows: int = 0,
    edits: Sequence[str] | None = None,
    max_side: int = 480,
    progress: Progress | None = None,
) -> Path:
    """Write a benchmark under ``out`` from the clips in ``clips`` (and ``slideshows``
    clips panning over 4 photos each of ``photos``); returns ``truth.csv``'s path.

    Clips whose every sampled frame is blank (a solid colour clip) cannot be matched by
    design and are left out, with a note in ``notes.txt``."""
    out = Path(out)
    (out / "sources").mkdir(parents=True, exist_ok=True)
    (out / "queries").mkdir(exist_ok=True)
    edits = list(edits or EDITS)
    sources: list[Path] = []
    notes: list[str] = []
    if clips:
        for p in sorted(Path(clips).iterdir()):
            if p.is_file() and is_video(p):
                dest = out / "sources" / p.name
                shutil.copy(p, dest)
                sources.append(dest)
    if photos and slideshows:
        pics = sorted(Path(photos).rglob("*.jpg"))
        for k in range(min(slideshows, len(pics) // 4)):
            dest = out / "sources" / f"slideshow{k:02d}.mp4"
            make_slideshow(pics[4 * k : 4 * k + 4], dest, size=(320, 240))
            sources.append(dest)
    kept_sources = []
    for src in sources:
        try:
            if fingerprint_video(src).blank.all():
                notes.append(f"{src.name}: every sampled frame is blank; left out")
                src.unlink()
                continue
        except LookalikeError as exc:
            notes.append(f"{src.name}: {exc.reason}; left out")
            src.unlink()
            continue
        kept_sources.append(src)
    truth_rows, rating_rows = [], []
    total = len(kept_sources) * len(edits)
    done = 0
    for n, src in enumerate(kept_sources):
        duration = fingerprint_video(src).duration
        other = kept_sources[(n + 1) % len(kept_sources)] if len(kept_sources) > 1 else None
        for edit in edits:
            q = out / "queries" / f"{src.stem}.{edit}.mp4"
            segments = apply_edit(src, q, edit, seed=n, max_side=max_side)
            rel_q, rel_s = f"queries/{q.name}", f"sources/{src.name}"
            truth_rows.append([rel_q, rel_s, edit, json.dumps(segments)])
            rating_rows.append([rel_q, rel_s, rating(edit, segments, duration)])
            if other is not None:
                rating_rows.append([rel_q, f"sources/{other.name}", 0.0])
            done += 1
            if progress:
                progress("making", done, total)
    with (out / "truth.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["query", "source", "edit", "segments"])
        w.writerows(truth_rows)
    with (out / "ratings.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "rating"])
        w.writerows(rating_rows)
    (out / "notes.txt").write_text(
        "ratings.csv holds DERIVED ratings (5 x share of the source kept - 0.5 per visible "
        "change; 0 for another source's clip), not ratings collected from people.\n"
        + "".join(f"{n}\n" for n in notes),
        encoding="utf-8",
    )
    return out / "truth.csv"


def run_video_benchmark(
    bench: str | Path, *, rate: float = 1.0, progress: Progress | None = None
) -> dict[str, Any]:
    """Score a benchmark from :func:`make_video_benchmark`: per edit and overall."""
    from lookalike.evaluate.metrics import spearman

    bench = Path(bench)
    with (bench / "truth.csv").open(newline="", encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    sources = sorted({r["source"] for r in truth})
    queries = [r["query"] for r in truth]
    cache: dict[str, VideoFingerprint] = {}
    names = sources + queries
    for k, name in enumerate(names):
        cache[name] = fingerprint_video(bench / name, rate=rate)
        if progress:
            progress("fingerprinting", k + 1, len(names))
    per_edit: dict[str, dict[str, float]] = {}
    sims: dict[tuple[str, str], tuple[float, float]] = {}
    for row in truth:
        q, src, edit = row["query"], row["source"], row["edit"]
        segs = json.loads(row["segments"])
        # t_query - t_source of every kept segment long enough to be found
        offsets = [b0 - a0 for a0, a1, b0 in segs if a1 - a0 >= 1.0]
        e = per_edit.setdefault(edit, {"queries": 0, "found": 0, "aligned": 0, "false": 0})
        e["queries"] += 1
        for s in sources:
            m = match_videos(cache[s], cache[q])
            sims[q, s] = (m.similarity, 0.5 * (m.share_a + m.share_b))
            if not m.match:
                continue
            if s != src:
                e["false"] += 1
                continue
            e["found"] += 1
            found = [seg.offset for seg in m.segments]
            if all(any(abs(f - o) <= OFFSET_TOLERANCE for f in found) for o in offsets):
                e["aligned"] += 1
    edits: dict[str, dict[str, Any]] = {}
    for edit, e in per_edit.items():
        hits = e["found"] + e["false"]
        edits[edit] = {
            "queries": int(e["queries"]),
            "recall": e["found"] / e["queries"],
            "aligned": e["aligned"] / e["queries"],
            "precision": e["found"] / hits if hits else 1.0,
            "false_matches": int(e["false"]),
        }
    total_q = sum(e["queries"] for e in per_edit.values())
    total_found = sum(e["found"] for e in per_edit.values())
    total_false = sum(e["false"] for e in per_edit.values())
    ratings = []
    with (bench / "ratings.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            a, b = r["a"], r["b"]
            if (a, b) not in sims:
                m = match_videos(cache[b], cache[a])
                sims[a, b] = (m.similarity, 0.5 * (m.share_a + m.share_b))
            ratings.append((float(r["rating"]), *sims[a, b]))
    given = np.array([r[0] for r in ratings])
    rho = spearman(given, np.array([r[1] for r in ratings]))
    rho_share = spearman(given, np.array([r[2] for r in ratings]))
    return {
        "bench": str(bench),
        "sources": len(sources),
        "queries": total_q,
        "rate": rate,
        "edits": edits,
        "recall": total_found / total_q if total_q else 0.0,
        "aligned": sum(e["aligned"] for e in per_edit.values()) / total_q if total_q else 0.0,
        "precision": total_found / (total_found + total_false)
        if total_found + total_false
        else 1.0,
        "spearman": rho,
        "spearman_shares": rho_share,
        "rated_pairs": len(ratings),
        "ratings": "derived from the known edits (see notes.txt), not collected from people",
    }


def rate_video_pairs(
    csv_path: str | Path, *, rate: float = 1.0, progress: Progress | None = None
) -> dict[str, Any]:
    """Spearman's rho of the video match scores with people's ratings of video pairs.

    The ratings CSV is the one ``eval pairs`` reads for images (``a``, ``b``, ``rating``,
    paths relative to the CSV). Two scores are ranked against the ratings, as
    :func:`run_video_benchmark` does: ``video`` (:attr:`VideoMatch.similarity`, coverage
    x frame share) and ``video-shares`` (vPDQ's mean of the two shares). A video that
    cannot be read leaves its pairs out and is listed under ``failures``; the result has
    the shape of :func:`lookalike.evaluate.ratings.rate_methods`.
    """
    from lookalike.evaluate.metrics import spearman
    from lookalike.evaluate.ratings import read_ratings

    rows = read_ratings(csv_path)
    files = list(dict.fromkeys(p for a, b, _ in rows for p in (a, b)))
    prints: dict[str, VideoFingerprint] = {}
    failures = []
    for k, path in enumerate(files):
        try:
            prints[path] = fingerprint_video(path, rate=rate)
        except LookalikeError as exc:
            failures.append({"path": path, "reason": exc.reason})
        if progress:
            progress("fingerprinting", k + 1, len(files))
    kept = [(a, b, r) for a, b, r in rows if a in prints and b in prints]
    scores = []
    for a, b, _ in kept:
        m = match_videos(prints[a], prints[b])
        scores.append((m.similarity, 0.5 * (m.share_a + m.share_b)))
    given = np.array([r for _, _, r in kept], dtype=np.float64)
    out: dict[str, Any] = {
        "ratings": str(csv_path),
        "pairs": len(kept),
        "failures": failures,
        "skipped": {},
        "methods": {},
    }
    for k, name in enumerate(("video", "video-shares")):
        sims = np.array([s[k] for s in scores], dtype=np.float64)
        rho = spearman(sims, given) if len(kept) >= 2 else float("nan")
        out["methods"][name] = {
            "spearman": None if np.isnan(rho) else rho,
            "similarity": sims.tolist(),
        }
    return out
