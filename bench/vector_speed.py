"""Throughput of GIST (and of an ONNX model through embed) beside pHash, in one run.

    PYTHONPATH=src python bench/vector_speed.py [--photos DIR] [--model M.onnx] [--rounds 3]

Default photos: the 38 corpus wallpapers (../shared/corpus/photos/originals, long side
<= 1600 px). Each method runs the path ``lookalike`` takes (``extract_features``: decode
with draft scaling at the size the method needs, then its batched ``compute``), in one
process, on the same files, the OS cache warm, rounds interleaved and the best round of
each kept (the machine is noisy). Printed: images per second, and each method's time as a
multiple of pHash's measured in the same run. The decode and the descriptor are also
timed apart for GIST (``compute`` alone on prepared arrays) so the cost of the maths shows.

Without ``--model`` the embed row uses a small random-projection ONNX network built here
with the ``onnx`` package (conv 3x3 stride 2, ReLU, pooling, dense; 64 px input): it
measures the plumbing (decode, resize, normalise, onnxruntime call), not a real model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from corpus import CORPUS  # noqa: E402

from lookalike.decode import load  # noqa: E402
from lookalike.features import extract_features  # noqa: E402
from lookalike.methods import get_method  # noqa: E402
from lookalike.methods.base import Method  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=Path, default=CORPUS / "photos" / "originals")
    ap.add_argument("--model", help="an ONNX model for the embed row (default: a toy one)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    files = [str(p) for p in sorted(args.photos.glob("*.jpg"))]
    if not files:
        sys.exit(f"no .jpg under {args.photos}")
    methods: dict[str, Method] = {"phash": get_method("phash"), "gist": get_method("gist")}
    note = ""
    try:
        model = args.model
        if model is None:
            from onnx_models import projection_model

            model = str(projection_model(Path(tempfile.mkdtemp()) / "toy.onnx"))
            note = " (toy 64-px random-projection model: plumbing only)"
        methods["embed"] = get_method("embed", model=model)
    except Exception as exc:  # no onnxruntime / onnx here: the other rows still run
        print(f"embed skipped: {exc}", file=sys.stderr)
    for f in files:  # warm the OS cache
        Path(f).read_bytes()
    gist = methods["gist"]
    prepared = [gist.prepare(load(f, mode="L", min_size=gist.min_size)) for f in files]
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, m in methods.items():
            t = timed(lambda m=m: extract_features(files, [m], jobs=1))
            best[name] = min(best.get(name, float("inf")), t)
        t = timed(lambda: gist.compute(prepared))
        best["gist compute only"] = min(best.get("gist compute only", float("inf")), t)
    n = len(files)
    print(f"{n} photos from {args.photos}, best of {args.rounds} rounds, one process\n")
    print(f"{'method':<20} {'img/s':>8} {'ms/img':>8} {'x pHash time':>13}")
    for name, t in best.items():
        extra = note if name == "embed" else ""
        print(f"{name:<20} {n / t:8.1f} {1000 * t / n:8.2f} {t / best['phash']:13.2f}{extra}")


if __name__ == "__main__":
    main()
