"""Video fingerprinting throughput beside a bare OpenCV decode of the same file.

Prints video-seconds per second (seconds of video handled per second of wall time) for:

* ``opencv read``: ``cv2.VideoCapture.read()`` of every frame (decode + colour conversion),
  the bare decode a naive fingerprinter would start from;
* ``opencv grab``: ``grab()`` of every frame (decode only): the floor;
* ``lookalike 1/s``: ``fingerprint_video(rate=1, min_samples=0)`` (vPDQ's rate);
* ``lookalike default``: ``fingerprint_video()`` (short clips sampled faster).

Files: the shared corpus's real clips when present, and two generated 60 s slideshows of
the sample photos (640x360 and 1280x720, 25 fps, mp4v), since the corpus clips are short.
Best of 3 rounds each; ratios are against ``opencv read`` measured in the same run.

    PYTHONPATH=src python bench/video_speed.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import cv2  # noqa: E402
from corpus import CORPUS, SAMPLES  # noqa: E402

from lookalike.video import fingerprint_video  # noqa: E402
from lookalike.video.edits import make_slideshow  # noqa: E402


def decode(path: Path, retrieve: bool) -> float:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0] if retrieve else cap.grab():
        n += 1
    cap.release()
    return float(n)


def best(fn, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="video_speed_"))
    photos = sorted(SAMPLES.glob("*.jpg"))
    files = [p for p in sorted((CORPUS / "video").glob("v*.m*")) if p.is_file()]
    for w, h in ((640, 360), (1280, 720)):
        path = tmp / f"slideshow_{w}x{h}.mp4"
        make_slideshow((photos * 4)[:30], path, seconds=2.0, fps=25.0, size=(w, h))
        files.append(path)
    print(
        f"{'file':<24} {'size':>9} {'video s':>8}  {'method':<18} {'video-s/s':>10} {'vs read':>8}"
    )
    for path in files:
        fp = fingerprint_video(path)
        seconds = fp.duration
        size = f"{fp.width}x{fp.height}"
        read_t = best(lambda p=path: decode(p, True))
        rows = [
            ("opencv read", read_t),
            ("opencv grab", best(lambda p=path: decode(p, False))),
            ("lookalike 1/s", best(lambda p=path: fingerprint_video(p, min_samples=0))),
            ("lookalike default", best(lambda p=path: fingerprint_video(p))),
        ]
        for name, t in rows:
            print(
                f"{path.name:<24} {size:>9} {seconds:>8.1f}  {name:<18} "
                f"{seconds / t:>10.1f} {read_t / t:>7.2f}x"
            )


if __name__ == "__main__":
    main()
