"""The measurement behind the video thresholds (lookalike.video.align): pHash distances of
true frame pairs (a frame of an edited copy and the source frame it came from) per edit,
beside the distances of frames of unrelated clips.

Clips: two 8 s slideshows of the sample photos, and the corpus's v1 and v2 when present;
each edited six ways (lookalike.video.edits); 4 samples per second.

    PYTHONPATH=src python bench/video_thresholds.py
"""

from __future__ import annotations

import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from corpus import CORPUS, SAMPLES  # noqa: E402

from lookalike.methods.base import hamming_matrix  # noqa: E402
from lookalike.video import fingerprint_video  # noqa: E402
from lookalike.video.edits import EDITS, apply_edit, make_slideshow  # noqa: E402

RATE = 4.0


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="video_thresholds_"))
    photos = sorted(SAMPLES.glob("*.jpg"))
    sources = [tmp / "a.mp4", tmp / "b.mp4"]
    make_slideshow(photos[:4], sources[0])
    make_slideshow(photos[4:8], sources[1])
    sources += [
        p for p in (CORPUS / "video" / "v1.m4v", CORPUS / "video" / "v2.m4v") if p.is_file()
    ]
    fps = {s: fingerprint_video(s, rate=RATE, min_samples=0) for s in sources}
    same: dict[str, list[int]] = defaultdict(list)
    for s in sources:
        fa = fps[s]
        for edit in EDITS:
            q = tmp / f"{s.stem}.{edit}.mp4"
            segments = apply_edit(s, q, edit)
            fb = fingerprint_video(q, rate=RATE, min_samples=0)
            d = hamming_matrix(fa.codes, fb.codes)
            for j, tb in enumerate(fb.times):
                for a0, a1, b0 in segments:
                    ta = tb - b0 + a0
                    i = int(np.argmin(np.abs(fa.times - ta)))
                    if a0 <= ta < a1 and abs(fa.times[i] - ta) < 0.06:
                        same[edit].append(int(d[i, j]))
    diff = np.concatenate(
        [
            hamming_matrix(fps[x].codes, fps[y].codes).ravel()
            for k, x in enumerate(sources)
            for y in sources[k + 1 :]
        ]
    )
    print(f"clips: {', '.join(s.name for s in sources)}; {RATE:g} samples/s; 64-bit pHash")
    head = ["n", "median", "p90", "p95", "<=10", "<=12", "<=20"]
    print(f"{'pairs':<10} " + " ".join(f"{h:>7}" for h in head))
    for name, v in [*same.items(), ("unrelated", list(diff))]:
        a = np.asarray(v)
        print(
            f"{name:<10} {len(a):>7} {np.median(a):>7.0f} {np.percentile(a, 90):>7.0f} "
            f"{np.percentile(a, 95):>7.0f} {np.mean(a <= 10):>7.1%} {np.mean(a <= 12):>7.1%} "
            f"{np.mean(a <= 20):>7.1%}"
        )


if __name__ == "__main__":
    main()
