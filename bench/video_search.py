"""Videos in a search collection, measured: a still finds its video and the time; a video
finds its edited copies' source with the offset; photos that are in no video find none.

Library (one collection, indexed with ``Collection.update`` as ``lookalike index`` does):
8 slideshows panning over 4 corpus photos each (320x240, 8 s), the corpus's v1 and v2,
and the committed sample photos as images (two clips of sample photos when the corpus is
absent).

Queries:
* stills: the frame shown every 0.5 s of every video (decoded frame by frame), saved as
  a JPEG q80 at 75% size (a screenshot); right when the first video hit is the video it
  came from, and its time error;
* unrelated: corpus photos in no slideshow (and not in the library) -> video hits at all;
* mirrored: the stills flipped left to right, every video flipped (whole, and from 25% on),
  the unrelated photos flipped -> found, marked mirrored; video hits for the photos;
* video copies: every edit of lookalike.video.edits of every video -> the source ranked
  first among the video hits, and for each part the copy keeps, the error of the nearest
  found segment's offset.

    PYTHONPATH=src python bench/video_search.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from corpus import CORPUS, SAMPLES  # noqa: E402

from lookalike.search.collection import Collection  # noqa: E402
from lookalike.video.edits import EDITS, apply_edit, make_slideshow  # noqa: E402
from lookalike.video.store import VideoStore  # noqa: E402

STEP_S = 0.5


def stills(video: Path, out: Path) -> list[tuple[Path, float]]:
    """The frame shown every STEP_S seconds, as JPEG q80 screenshots at 75% size."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    shots: list[tuple[Path, float]] = []
    next_t = 0.0
    while cap.grab():
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if t + 1e-6 < next_t:
            continue
        ok, frame = cap.retrieve()
        if not ok:
            continue
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (round(w * 0.75), round(h * 0.75)), interpolation=cv2.INTER_AREA)
        path = out / f"{video.stem}-{t:06.2f}.jpg"
        cv2.imwrite(str(path), small, [cv2.IMWRITE_JPEG_QUALITY, 80])
        shots.append((path, t))
        next_t += STEP_S
    cap.release()
    return shots


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="video_search_"))
    lib = tmp / "图库"
    (lib / "clips").mkdir(parents=True)
    for p in sorted(SAMPLES.glob("*.jpg")):
        shutil.copy(p, lib / p.name)
    originals = sorted((CORPUS / "photos" / "originals").glob("*.jpg"))
    videos: list[Path] = []
    if len(originals) >= 36:
        for k in range(8):
            videos.append(lib / "clips" / f"slideshow{k}.mp4")
            make_slideshow(originals[4 * k : 4 * k + 4], videos[-1], size=(320, 240))
        unrelated = originals[32:]
        for name in ("v1.m4v", "v2.m4v"):
            shutil.copy(CORPUS / "video" / name, lib / "clips" / name)
            videos.append(lib / "clips" / name)
    else:
        photos = sorted(SAMPLES.glob("*.jpg"))
        for k in range(2):
            videos.append(lib / "clips" / f"slideshow{k}.mp4")
            make_slideshow(photos[3 * k : 3 * k + 3], videos[-1], size=(320, 240))
        unrelated = []
    with Collection(tmp / "db", create=True) as coll:
        t0 = time.perf_counter()
        stats = coll.update([lib])
        index_s = time.perf_counter() - t0
        store = VideoStore(tmp / "db" / "videos.sqlite")
        seconds = sum(f.duration for f in store.fingerprints().values())
        store.close()
        print(
            f"library: {stats.images} images, {stats.videos} videos ({seconds:.0f} video-s); "
            f"index {index_s:.1f} s"
        )

        shots_dir = tmp / "stills"
        shots_dir.mkdir()
        right, errors, first, lat, vlat = 0, [], 0, [], []
        n = 0
        for v in videos:
            for path, t in stills(v, shots_dir):
                n += 1
                t1 = time.perf_counter()
                res = coll.search(path, k=10)
                lat.append(time.perf_counter() - t1)
                vlat.append(res.timings.get("videos", 0.0))
                hits = [h for h in res.results if h.video]
                if hits and Path(hits[0].path).name == v.name:
                    right += 1
                    errors.append(abs(float(hits[0].time or 0.0) - t))
                    first += res.results[0] is hits[0]
        e = np.asarray(errors)
        print(
            f"stills: {n}; right video first among video hits {right}/{n}; "
            f"ranked first overall {first}/{n}; time error median {np.median(e):.2f} s, "
            f"p95 {np.percentile(e, 95):.2f} s, max {e.max():.2f} s, <= 1 s {np.mean(e <= 1):.1%}; "
            f"search {np.median(lat) * 1000:.0f} ms median, of which videos "
            f"{np.median(vlat) * 1000:.0f} ms (p95 {np.percentile(vlat, 95) * 1000:.0f} ms)"
        )
        false = sum(
            1 for p in unrelated for h in coll.search(p, k=10).results if h.video
        )  # fmt: skip
        print(f"unrelated photos: {len(unrelated)}; video hits among their results: {false}")

        # mirrored: every still flipped left to right; every video flipped, and flipped
        # from 25% on (a trimmed mirrored copy); unrelated photos flipped
        import cv2

        m_right, m_err, m_n = 0, [], 0
        for path in sorted(shots_dir.glob("*.jpg")):
            video, t = path.stem.rsplit("-", 1)
            flip = tmp / "mirror.jpg"
            cv2.imwrite(str(flip), cv2.flip(cv2.imread(str(path)), 1))
            m_n += 1
            hits = [h for h in coll.search(flip, k=10).results if h.video]
            if hits and Path(hits[0].path).stem == video and hits[0].mirrored:
                m_right += 1
                m_err.append(abs(float(hits[0].time or 0.0) - float(t)))
        false_m = 0
        for p in unrelated:
            cv2.imwrite(str(tmp / "mirror.jpg"), cv2.flip(cv2.imread(str(p)), 1))
            false_m += sum(1 for h in coll.search(tmp / "mirror.jpg", k=10).results if h.video)
        me = np.asarray(m_err) if m_err else np.zeros(1)
        print(
            f"mirrored stills: {m_n}; right video first, marked mirrored {m_right}/{m_n}; "
            f"time error median {np.median(me):.2f} s, max {me.max():.2f} s; unrelated "
            f"photos mirrored: {false_m} video hits"
        )
        from lookalike.video.edits import read_clip, write_clip

        m_found = {"mirror": 0, "mirror+trim": 0}
        for v in videos:
            clip = read_clip(v)
            frames = [cv2.flip(f, 1) for f in clip.frames]
            for name, first in (("mirror", 0), ("mirror+trim", len(frames) // 4)):
                q = tmp / f"{v.stem}.{name}.mp4"
                write_clip(q, frames[first:], clip.fps)
                hits = [h for h in coll.search(q, k=5).results if h.video]
                m_found[name] += bool(
                    hits and Path(hits[0].path).name == v.name and hits[0].mirrored
                )
        print(
            "mirrored copies: "
            + ", ".join(f"{k} {n}/{len(videos)}" for k, n in m_found.items())
            + " (source first, marked mirrored)"
        )

        found, offset_err, total = 0, [], 0
        per_edit: dict[str, list[int]] = {e: [0, 0] for e in EDITS}
        for v in videos:
            for edit in EDITS:
                q = tmp / f"{v.stem}.{edit}.mp4"
                truth = apply_edit(v, q, edit)
                total += 1
                per_edit[edit][1] += 1
                hits = [h for h in coll.search(q, k=5).results if h.video]
                if hits and Path(hits[0].path).name == v.name:
                    found += 1
                    per_edit[edit][0] += 1
                    found_offsets = [seg["offset"] for seg in hits[0].segments or []]
                    for a0, _, b0 in truth:  # each kept part: the nearest found offset
                        offset_err.append(min(abs(o - (a0 - b0)) for o in found_offsets))
        o = np.asarray(offset_err)
        edits = ", ".join(f"{e} {a}/{b}" for e, (a, b) in per_edit.items())
        print(
            f"video queries: {total}; source first {found}/{total} ({edits}); "
            f"offset error median {np.median(o):.2f} s, max {o.max():.2f} s"
        )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
