"""Candidate recall of the matching engine, and what ``dupes`` groups from it (same run).

    python bench/candidate_recall.py [--photos DIR] [--out DIR] [--jobs 2] [--no-dupes]
                                     [--attacks LIST | --attacks global]

1. builds a benchmark with ``lookalike eval make`` from the shared corpus's originals
   (``../shared/corpus/photos/originals``; 13 held out as distractors, seed 0, the other
   25 are sources) with the attacks that move the picture in its frame: a window with a
   title bar (``screenshot``), a plain ``border``, a ``corner`` crop (70/55/40 %), a
   ``centre`` crop (90/80/60 %), small rotations (``rotate``: 3/8/20 degrees), the
   random-offset ``crop``, and ``jpeg`` as a control (``--attacks global``: the edits that
   keep the frame instead -- recompression, scaling, colour, brightness, contrast,
   greyscale, blur, noise, a caption, a squeeze, a mirror); the held-out originals' own
   renditions (``variants/NAME__TAG.jpg`` of the distractors only, never of a source) are
   added to the references as further unrelated pictures;
2. measures :func:`lookalike.evaluate.runner.engine_candidates`: the share of (query,
   reference) ground-truth pairs :func:`lookalike.match.engine.candidate_pairs` proposes
   over all images at once, per attack and severity, without and with the region codes,
   the share it *reaches* (query and source joined by a chain of candidate pairs between
   copies of the same picture), and the candidate pairs per image;
3. runs ``find_duplicates`` (the default layers, ORB included, a throw-away cache) over
   the whole benchmark twice -- without and with the check of each group's keeper
   against the copies it only chains to (``lookalike.dupes.find.REACH_ROUNDS``) -- and
   reports per attack the share of queries grouped with their source, the share of the
   groups holding a source picture whose keeper is that picture, and the precision of
   the reported pairs (both files from the same source picture).

These photos were used to tune earlier thresholds (docs/accuracy.md); no photo the
region codes were tuned on is held apart here -- the report says so.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import lookalike.dupes.find as find
from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.evaluate.dataset import list_images, load_benchmark
from lookalike.evaluate.runner import engine_candidates
from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.reports.text import table

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus" / "photos"
ATTACKS = "screenshot,border,corner,centre,rotate,crop,jpeg"
#: ``--attacks global``: the edits that keep the picture in its frame
GLOBAL = "jpeg,scale,colour,brightness,contrast,greyscale,blur,noise,caption,aspect,flip"


def _source(path: str) -> str:
    """The source picture a benchmark file comes from: its stem before ``__``."""
    return Path(path).stem.partition("__")[0]


def build(photos: Path, variants: Path | None, out: Path, attacks: str = ATTACKS) -> None:
    """``lookalike eval make`` into ``out``, plus the distractors' variants as references."""
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "lookalike", "eval", "make", str(photos), "--out", str(out),
           "--attacks", attacks, "--distractors", "13", "--seed", "0"]  # fmt: skip
    print("$", " ".join(cmd[1:]))
    subprocess.run(cmd, check=True)
    bench = load_benchmark(out)
    sources = {_source(q) for q in bench.queries}
    added = 0
    if variants is not None and variants.is_dir():
        for v in list_images(variants):
            if _source(str(v)) not in sources:
                shutil.copyfile(v, out / "references" / v.name)
                added += 1
    print(f"{len(sources)} sources, {len(bench.queries)} queries, "
          f"{len(bench.references) + added} references ({added} distractor variants)")  # fmt: skip


def dupes(
    out: Path, jobs: int, reach: bool, methods: tuple[str, ...] = DEFAULT_LAYERS
) -> dict[str, object]:
    """find_duplicates over the benchmark (layers ``methods``): pair recall per attack,
    precision, time. ``reach``: keepers are checked against the copies they chain to (as
    ``dupes`` runs)."""
    saved = find.REACH_ROUNDS
    if not reach:  # the engine without that check: only the candidates' own pairs
        find.REACH_ROUNDS = 0
    try:
        t0 = time.perf_counter()
        report = find_duplicates([out], DupesOptions(methods=methods, cache="", jobs=jobs))
        seconds = time.perf_counter() - t0
    finally:
        find.REACH_ROUNDS = saved
    group_of: dict[str, int] = {}
    for g, group in enumerate(report.groups):
        for m in group.members:
            group_of[str(Path(m.path).resolve())] = g
    bench = load_benchmark(out)
    found: dict[str, list[bool]] = {}
    for q, r, a, pos in zip(bench.queries, bench.reference_of, bench.attack, bench.positive,
                            strict=True):  # fmt: skip
        if not pos:
            continue
        gq = group_of.get(str((out / q).resolve()))
        gr = group_of.get(str((out / bench.references[r]).resolve()))
        found.setdefault(a, []).append(gq is not None and gq == gr)
    true = sum(_source(p.a) == _source(p.b) for p in report.pairs)
    # the keeper is the original: of the groups holding a source picture, the share whose
    # keeper is that picture (a crop kept and its source deleted loses part of the picture)
    pairs = zip(bench.reference_of, bench.positive, strict=True)
    sources = {str((out / bench.references[r]).resolve()) for r, pos in pairs if pos}
    holding = [g for g in report.groups if any(str(Path(m.path).resolve()) in sources
                                                for m in g.members)]  # fmt: skip
    kept = sum(str(Path(g.keep).resolve()) in sources for g in holding)
    return {
        "recall": {a: float(np.mean(v)) for a, v in found.items()},
        "all": float(np.mean([x for v in found.values() for x in v])),
        "keeper is the source": kept / len(holding) if holding else 1.0,
        "pairs": len(report.pairs),
        "precision": true / len(report.pairs) if report.pairs else 1.0,
        "candidates": report.stats["decided_by"].get("candidates", 0),
        "seconds": seconds,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, default=CORPUS / "originals")
    ap.add_argument("--variants", type=Path, default=CORPUS / "variants")
    ap.add_argument("--out", type=Path, default=Path("/tmp/lookalike-candidate-recall"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-dupes", action="store_true", help="candidate recall only")
    ap.add_argument("--attacks", default=ATTACKS, help=f"'global' ({GLOBAL}) or a list")
    args = ap.parse_args()
    if not args.photos.is_dir():
        print(f"no photos at {args.photos}", file=sys.stderr)
        return 2
    attacks = GLOBAL if args.attacks == "global" else args.attacks
    build(args.photos, args.variants, args.out, attacks)
    bench = load_benchmark(args.out)
    ec = engine_candidates(bench, jobs=args.jobs)
    before, after = ec["without_regions"], ec["engine"]
    reached = after["reachable_per_attack_severity"]
    rows = [[k, f"{before['per_attack_severity'][k]:.3f}", f"{after['per_attack_severity'][k]:.3f}",
             f"{reached[k]:.3f}"] for k in after["per_attack_severity"]]  # fmt: skip
    rows.append(["all", f"{before['recall']:.3f}", f"{after['recall']:.3f}",
                 f"{after['reachable']:.3f}"])  # fmt: skip
    rows.append(["candidates / image", f"{before['candidates_per_image']:.2f}",
                 f"{after['candidates_per_image']:.2f}", ""])  # fmt: skip
    print(f"\ncandidate recall, {ec['images']} images (features {ec['features_seconds']:.0f} s)")
    print("proposed: the (query, source) pair itself is a candidate; reached: joined by a chain")
    print("of candidate pairs between copies of the same picture (what dupes can group)")
    print(table(["attack-severity", "proposed, no regions", "proposed", "reached"], rows))
    if args.no_dupes:
        return 0
    res = {label: dupes(args.out, args.jobs, reach) for label, reach in
           (("no keeper check", False), ("dupes", True))}  # fmt: skip
    print_dupes(res, "without and with the keeper checked against chained copies")
    return 0


def print_dupes(res: dict[str, dict[str, object]], what: str) -> None:
    """The table of :func:`dupes` results, one column per run."""
    first = next(iter(res.values()))
    attacks = list(first["recall"])  # type: ignore[call-overload]
    rows = [[a, *(f"{res[k]['recall'][a]:.3f}" for k in res)] for a in attacks]  # type: ignore[index]
    for key in ("all", "keeper is the source", "precision", "pairs", "candidates", "seconds"):
        rows.append([key, *(f"{res[k][key]:.3f}" if isinstance(res[k][key], float)
                            else str(res[k][key]) for k in res)])  # fmt: skip
    print("\nlookalike dupes end to end: query grouped with its source, per attack; the share of")
    print("groups holding a source picture whose keeper is that picture; precision of the")
    print(f"reported pairs (both files from the same source picture); {what}")
    print(table(["attack", *res], rows))


if __name__ == "__main__":
    raise SystemExit(main())
