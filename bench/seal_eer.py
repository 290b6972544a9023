"""Seal verification EER: the Siamese network vs the non-learned baseline, on generated
seals no model or threshold ever saw (seeds from lookalike.seals.generate.TEST_SEEDS).

Each test design gives one genuine pair (two impressions of it), one forgery pair per kind
(an impression of it and one of a forgery: character, font, spacing, border, star; star
for round seals only) and one pair with another design. Printed: EER, AUC and the
accuracy at the shipped threshold over all pairs, then the EER of genuine pairs against
each kind of impostor alone, and the time per pair (one process, one thread).

    PYTHONPATH=src python bench/seal_eer.py --designs 300 --jobs 2
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lookalike.evaluate.metrics import roc_auc  # noqa: E402
from lookalike.seals import baseline, siamese  # noqa: E402
from lookalike.seals.generate import FORGERY_KINDS, TEST_SEEDS, trial_pairs  # noqa: E402
from lookalike.seals.rates import equal_error_rate, far_frr  # noqa: E402

METHODS = {"siamese": siamese.score, "baseline": baseline.score}


def _design_rows(seed: int) -> list[tuple[str, dict[str, float], dict[str, float]]]:
    """(kind, score per method, seconds per method) of one design's pairs."""
    rows = []
    for a, b, kind in trial_pairs(seed):
        scores, seconds = {}, {}
        for name, verify in METHODS.items():
            t = time.perf_counter()
            scores[name] = verify(a, b)
            seconds[name] = time.perf_counter() - t
        rows.append((kind, scores, seconds))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--designs", type=int, default=300)
    p.add_argument("--start", type=int, default=TEST_SEEDS)
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    if args.start < TEST_SEEDS:
        p.error(f"--start must be {TEST_SEEDS} or more (lower seeds train or calibrate)")
    seeds = range(args.start, args.start + args.designs)
    with Pool(args.jobs) as pool:
        rows = [r for part in pool.map(_design_rows, seeds, chunksize=4) for r in part]
    kinds = np.array([r[0] for r in rows])
    same = kinds == "genuine"
    thresholds = {"siamese": siamese.threshold(), "baseline": baseline.THRESHOLD}
    print(
        f"{args.designs} test designs (seeds {seeds[0]}-{seeds[-1]}), {len(rows)} pairs: "
        f"{same.sum()} genuine, {(~same).sum()} impostor"
    )
    head = f"{'method':<9} {'EER':>6} {'AUC':>6} {'thr':>6} {'acc@thr':>8} {'FAR':>6} {'FRR':>6}"
    per_kind = [k for k in (*FORGERY_KINDS, "other") if (kinds == k).any()]
    print(head + "".join(f" {k:>9}" for k in per_kind) + f" {'ms/pair':>8}")
    for name in METHODS:
        s = np.array([r[1][name] for r in rows])
        eer, _ = equal_error_rate(s, same)
        far, frr = far_frr(s, same, thresholds[name])
        accuracy = float(((s >= thresholds[name]) == same).mean())
        line = (
            f"{name:<9} {eer:6.1%} {roc_auc(s, same):6.3f} {thresholds[name]:6.3f} "
            f"{accuracy:8.1%} {far:6.1%} {frr:6.1%}"
        )
        for k in per_kind:
            pick = same | (kinds == k)
            line += f" {equal_error_rate(s[pick], same[pick])[0]:9.1%}"
        ms = 1000 * np.mean([r[2][name] for r in rows])
        print(line + f" {ms:8.1f}")
    print("per-kind columns: EER of genuine pairs against that kind of impostor alone")


if __name__ == "__main__":
    main()
