"""The measurement behind a vector method's thresholds (GIST's, or your ONNX model's):
its similarity of every query against every reference of `eval make` benchmarks, the
similarity at which precision reaches 0.99 ("similar"), and the one below which fewer than
1% of the true copies are left ("different").

    PYTHONPATH=src python bench/vector_thresholds.py /tmp/learned/attacks /tmp/learned/real
    PYTHONPATH=src python bench/vector_thresholds.py BENCH --method embed --model sscd.onnx

Build the benchmarks as docs/accuracy.md says (`lookalike eval make ...`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lookalike.evaluate.dataset import load_benchmark  # noqa: E402
from lookalike.evaluate.runner import score_benchmark  # noqa: E402
from lookalike.methods import get_method  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("benches", nargs="+", help="benchmark folders from `lookalike eval make`")
    ap.add_argument("--method", default="gist")
    ap.add_argument("--model", help="ONNX file (for --method embed)")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    options = {"model": args.model} if args.model else {}
    method = get_method(args.method, **options)
    print(f"method {method.name}: thresholds now {method.thresholds}")
    for root in args.benches:
        bench = load_benchmark(root)
        scores, _ = score_benchmark(bench, [method], jobs=args.jobs)
        sims, labels = scores[method.name].similarity, bench.labels()
        pos, neg = np.sort(sims[labels]), np.sort(sims[~labels])
        print(f"\n{root}: {len(pos)} true pairs, {len(neg)} other pairs")
        print(f"  true pairs, percentiles 1/5/50:   {np.percentile(pos, [1, 5, 50]).round(3)}")
        print(
            f"  other pairs, percentiles 50/99/max: {np.percentile(neg, [50, 99]).round(3)} "
            f"{neg.max():.3f}"
        )
        # precision at each true pair's similarity, highest first
        order = np.sort(np.concatenate([pos, neg]))[::-1]
        tp = len(pos) - np.searchsorted(pos, order, side="left")
        fp = len(neg) - np.searchsorted(neg, order, side="left")
        precision = tp / np.maximum(tp + fp, 1)
        ok = np.flatnonzero(precision >= 0.99)
        if len(ok):
            t = order[ok.max()]
            print(
                f"  lowest similarity with precision >= 0.99: {t:.3f} "
                f"(recall {tp[ok.max()] / len(pos):.3f})"
            )
        print(f"  similarity keeping 99% of true pairs above it: {np.percentile(pos, 1):.3f}")
        for t in (0.75, 0.80, 0.85, 0.90, 0.92, 0.95):
            p_, r_ = (pos >= t).sum(), (neg >= t).sum()
            print(f"  at {t:.2f}: precision {p_ / max(p_ + r_, 1):.3f}, recall {p_ / len(pos):.3f}")


if __name__ == "__main__":
    main()
