"""The keypoint layer with and without its dense alignment, on the same pairs in one run.

    python bench/dense_alignment.py

For each of the corpus's 38 originals (``../shared/corpus/photos/originals``): a copy
edited by ``lookalike.evaluate.attacks`` (corner crop to 40 %, random crop to 50 %,
pasted at 40 %, a window at 55 % in a screenshot; strong severity, saved as JPEG 90) is
matched against its original; then every pair of distinct originals (703). Printed: how
many copies ``match_local`` calls similar with the keypoints alone and with the dense
step, how many unrelated pairs it calls similar, and the time per unrelated pair (ms,
best of 2 rounds, this process).
"""

from __future__ import annotations

import io
import itertools
import sys
import time
from pathlib import Path

from PIL import Image

from lookalike.evaluate.attacks import apply_attack
from lookalike.methods import get_method, local

ORIGINALS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "photos" / "originals"
EDITS = ("corner", "crop", "paste", "screenshot")


def main() -> int:
    paths = sorted(ORIGINALS.glob("*.jpg"))
    if not paths:
        print(f"no photos at {ORIGINALS}", file=sys.stderr)
        return 2
    orb = get_method("orb")
    feats = {p.stem: orb.prepare(Image.open(p).convert("RGB")) for p in paths}
    copies = {}
    for attack in EDITS:
        for k, p in enumerate(paths):
            edited = apply_attack(Image.open(p).convert("RGB"), attack, "strong", seed=k)
            buf = io.BytesIO()
            edited.save(buf, "JPEG", quality=90)
            buf.seek(0)
            copies[attack, p.stem] = orb.prepare(Image.open(buf).convert("RGB"))
    dense = local._dense
    variants = {"keypoints only": lambda a, b: None, "keypoints + dense": dense}
    pairs = list(itertools.combinations(feats.values(), 2))
    for name, step in variants.items():
        local._dense = step  # type: ignore[assignment]
        found = {
            attack: sum(
                local.match_local(*local._canonical(copies[attack, p.stem], feats[p.stem])).similar
                for p in paths
            )
            for attack in EDITS
        }
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            false = sum(local.match_local(*local._canonical(a, b)).similar for a, b in pairs)
            best = min(best, time.perf_counter() - t)
        shown = "  ".join(f"{a} {found[a]}/{len(paths)}" for a in EDITS)
        print(f"{name:18} {shown}  unrelated similar {false}/{len(pairs)}  "
              f"{1000 * best / len(pairs):.1f} ms/unrelated pair")  # fmt: skip
    local._dense = dense
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
