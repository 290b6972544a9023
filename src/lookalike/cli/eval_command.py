"""``lookalike eval``: measure accuracy -- make a benchmark, run the methods on it, rate pairs.

* ``eval make PHOTOS --out BENCH``: references, attacked queries, distractors, ground truth;
* ``eval run BENCH``: µAP, recall at precision 0.99, ROC AUC per method and for the
  cascade, per attack and family; a table, ``results.md``, ``results.json`` and plots;
* ``eval pairs RATINGS.csv``: Spearman's rank correlation with human ratings.

See docs/accuracy.md for the figures and the commands that produced them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lookalike.cli.arguments import add_engine, add_model, engine_problem, with_model
from lookalike.cli.output import ProgressBar, print_json
from lookalike.errors import LookalikeError
from lookalike.evaluate.attacks import ATTACKS, SEVERITIES
from lookalike.methods import EVAL_METHODS, METHODS, MODEL_METHODS
from lookalike.reports.text import table


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _default_methods() -> list[str]:
    """The methods eval scores when none are named: the defaults, GIST, and the shipped
    learned model when onnxruntime can run it."""
    import importlib.util

    from lookalike.models import default_model

    learned = importlib.util.find_spec("onnxruntime") is not None and bool(default_model())
    return [*EVAL_METHODS, *(["embed"] if learned else [])]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="measure accuracy on a benchmark / 评估准确率",
        description="Measure accuracy: build a benchmark of attacked copies, score it with "
        "every method and the cascade (µAP as DISC21, recall at precision 0.99), or "
        "correlate similarities with human ratings.",
    )
    esub = p.add_subparsers(dest="eval_command", metavar="ACTION")
    esub.required = True

    mk = esub.add_parser("make", help="build a benchmark from a folder of photos")
    mk.add_argument("photos", help="folder of source photos")
    mk.add_argument("--out", "-o", required=True, help="benchmark folder to write")
    mk.add_argument(
        "--attacks",
        type=_names,
        default=None,
        help=f"comma-separated attacks, 'all' or 'none' (default all: {','.join(ATTACKS)})",
    )
    mk.add_argument(
        "--severities", type=_names, default=list(SEVERITIES), help="comma-separated (default all)"
    )
    mk.add_argument(
        "--distractors", type=int, default=0, help="photos held out as references without queries"
    )
    mk.add_argument("--limit", type=int, default=None, help="use only the first N sources")
    mk.add_argument("--max-side", type=int, default=1024, help="shrink sources to this long side")
    mk.add_argument("--variants", help="folder of real variants NAME__TAG.jpg, used as queries")
    mk.add_argument("--seed", type=int, default=0)
    mk.set_defaults(run=run_make)

    rn = esub.add_parser("run", help="score a benchmark with the methods and the cascade")
    rn.add_argument("bench", help="benchmark folder (from `eval make`)")
    defaults = _default_methods()
    rn.add_argument(
        "--methods",
        type=_names,
        default=defaults,
        help=f"comma-separated (default: {','.join(defaults)}); choices: {','.join(METHODS)}, "
        "embed",
    )
    add_model(rn)
    rn.add_argument(
        "--out", "-o", help="folder for results.md/json and plots (default BENCH/results)"
    )
    rn.add_argument(
        "--candidates", type=int, default=5, help="top-k per shortlist method for costly methods"
    )
    rn.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (0 = all CPUs)")
    add_engine(rn)
    rn.add_argument(
        "--no-engine-candidates",
        action="store_true",
        help="skip the matching engine's candidate recall (features of every image once more)",
    )
    rn.add_argument("--json", action="store_true", help="print JSON")
    rn.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    rn.set_defaults(run=run_run)

    pr = esub.add_parser("pairs", help="Spearman correlation with human ratings (a,b,rating CSV)")
    pr.add_argument("ratings", help="CSV with columns a, b, rating")
    pr.add_argument("--methods", type=_names, default=defaults)
    add_model(pr)
    pr.add_argument("--jobs", "-j", type=int, default=1)
    add_engine(pr)
    pr.add_argument("--json", action="store_true", help="print JSON")
    pr.add_argument(
        "--rate", type=float, default=1.0, help="video pairs: frames sampled per second"
    )
    pr.set_defaults(run=run_pairs)

    # --- video benchmarks (lookalike.video.benchmark); `eval run` reads them too ---
    mv = esub.add_parser("make-video", help="build a video benchmark from clips (and photos)")
    mv.add_argument("clips", nargs="?", help="folder of source clips")
    mv.add_argument("--out", "-o", required=True, help="benchmark folder to write")
    mv.add_argument("--photos", help="folder of photos for slideshow clips")
    mv.add_argument("--slideshows", type=int, default=0, help="slideshow clips of 4 photos each")
    mv.add_argument("--edits", type=_names, default=None, help="comma-separated (default all)")
    mv.set_defaults(run=run_make_video)
    rn.add_argument("--rate", type=float, default=1.0, help="video benchmarks: frames per second")


def _usage(message: str) -> int:
    print(f"lookalike eval: {message}", file=sys.stderr)
    return 2


def run_make(args: argparse.Namespace) -> int:
    from lookalike.evaluate.dataset import make_benchmark

    if not Path(args.photos).is_dir():
        return _usage(f"{args.photos}: not a folder")
    attacks = args.attacks
    if attacks == ["all"]:
        attacks = None
    elif attacks == ["none"]:
        attacks = []
    bad = [a for a in attacks or () if a not in ATTACKS]
    bad += [s for s in args.severities if s not in SEVERITIES]
    if bad:
        return _usage(f"unknown attack or severity: {', '.join(bad)}")
    with ProgressBar({"making": "making 生成"}) as bar:
        gt = make_benchmark(
            args.photos,
            args.out,
            attacks=attacks,
            severities=args.severities,
            distractors=args.distractors,
            seed=args.seed,
            max_side=args.max_side,
            limit=args.limit,
            variants=args.variants,
            progress=bar,
        )
    with gt.open(encoding="utf-8") as fh:
        n_q = sum(1 for _ in fh) - 1
    print(f"{gt}: {n_q} queries")
    return 0


def run_run(args: argparse.Namespace) -> int:
    from lookalike.engines import open_engine
    from lookalike.evaluate.report import (
        attack_rows,
        engine_candidate_rows,
        markdown,
        plots,
        summary_rows,
    )
    from lookalike.evaluate.runner import run_benchmark

    bad = [m for m in args.methods if m not in METHODS and m not in MODEL_METHODS]
    if bad:
        return _usage(f"unknown method(s): {', '.join(bad)}; choose from {', '.join(METHODS)}")
    try:
        methods = with_model(args.methods, args.model)
    except LookalikeError as exc:
        return _usage(str(exc))
    bench = Path(args.bench)
    if (bench / "truth.csv").is_file() and (bench / "queries").is_dir():  # video hook
        return run_video(args)
    if not (bench / "ground_truth.csv").is_file():
        return _usage(f"{bench}: no ground_truth.csv (make one with `lookalike eval make`)")
    problem = engine_problem(args)
    if problem is not None:
        return _usage(problem)
    with open_engine(args.engine, args.address, jobs=args.jobs) as executor, ProgressBar() as bar:
        report = run_benchmark(
            bench,
            methods,
            jobs=args.jobs,
            candidates=args.candidates,
            engine=not args.no_engine_candidates,
            progress=bar,
            executor=executor,
        )
    out = Path(args.out) if args.out else bench / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(markdown(report, f"Evaluation of {bench.name}"), "utf-8")
    notes = [] if args.no_plots else plots(report, out)
    curves = report.pop("_curves")
    (out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    if args.json:
        print_json(report)
    else:
        print(table(*summary_rows(report)))
        print()
        print(table(*attack_rows(report)))
        headers, rows = engine_candidate_rows(report)
        if rows:
            print()
            print(table(headers, rows))
        for name, why in report["skipped"].items():
            print(f"skipped {name}: {why}", file=sys.stderr)
        print(f"\nwritten: {out / 'results.md'}, {out / 'results.json'}")
        if isinstance(notes, str):
            print(notes, file=sys.stderr)
    del curves
    failed = any(r.get("failures") for r in report["methods"].values())
    return 1 if failed else 0


def run_pairs(args: argparse.Namespace) -> int:
    from lookalike.engines import open_engine
    from lookalike.evaluate.ratings import rate_methods

    bad = [m for m in args.methods if m not in METHODS and m not in MODEL_METHODS]
    if bad:
        return _usage(f"unknown method(s): {', '.join(bad)}")
    try:
        methods = with_model(args.methods, args.model)
    except LookalikeError as exc:
        return _usage(str(exc))
    if not Path(args.ratings).is_file():
        return _usage(f"{args.ratings}: no such file")
    problem = engine_problem(args)
    if problem is not None:
        return _usage(problem)
    if _rates_videos(args.ratings):
        from lookalike.video.benchmark import rate_video_pairs

        with ProgressBar({"fingerprinting": "fingerprinting 指纹"}) as bar:
            res = rate_video_pairs(args.ratings, rate=args.rate, progress=bar)
        return _print_ratings(args, res)
    with open_engine(args.engine, args.address, jobs=args.jobs) as executor:
        res = rate_methods(args.ratings, methods, jobs=args.jobs, executor=executor)
    return _print_ratings(args, res)


def _rates_videos(ratings: str) -> bool:
    """Whether a ratings CSV rates video pairs: its first pair are both videos."""
    from lookalike.evaluate.ratings import read_ratings
    from lookalike.formats import is_video

    rows = read_ratings(ratings)
    return bool(rows) and is_video(rows[0][0]) and is_video(rows[0][1])


def _print_ratings(args: argparse.Namespace, res: dict[str, Any]) -> int:
    """The Spearman table (or JSON) of ``eval pairs``; exit 1 when a file failed."""
    if args.json:
        print_json(res)
    else:
        rows = [
            [n, "-" if r["spearman"] is None else f"{r['spearman']:.3f}"]
            for n, r in res["methods"].items()
        ]
        print(f"{res['ratings']}: {res['pairs']} pairs\n")
        print(table(["method", "Spearman rho"], rows))
        for n, why in res["skipped"].items():
            print(f"skipped {n}: {why}", file=sys.stderr)
        for f in res["failures"]:
            print(f"lookalike: {f['path']}: {f['reason']}", file=sys.stderr)
    return 1 if res["failures"] else 0


# --- video benchmarks ---------------------------------------------------------------


def run_make_video(args: argparse.Namespace) -> int:
    from lookalike.video.benchmark import make_video_benchmark
    from lookalike.video.edits import EDITS

    if not args.clips and not (args.photos and args.slideshows):
        return _usage("make-video needs a folder of clips or --photos with --slideshows")
    for folder in (args.clips, args.photos):
        if folder and not Path(folder).is_dir():
            return _usage(f"{folder}: not a folder")
    bad = [e for e in args.edits or () if e not in EDITS]
    if bad:
        return _usage(f"unknown edit(s): {', '.join(bad)}; choose from {', '.join(EDITS)}")
    with ProgressBar({"making": "making 生成"}) as bar:
        truth = make_video_benchmark(
            args.clips,
            args.out,
            photos=args.photos,
            slideshows=args.slideshows,
            edits=args.edits,
            progress=bar,
        )
    with truth.open(encoding="utf-8") as fh:
        n_q = sum(1 for _ in fh) - 1
    print(f"{truth}: {n_q} queries")
    notes = (truth.parent / "notes.txt").read_text(encoding="utf-8").splitlines()[1:]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def run_video(args: argparse.Namespace) -> int:
    from lookalike.video.benchmark import run_video_benchmark

    bench = Path(args.bench)
    with ProgressBar({"fingerprinting": "fingerprinting 指纹"}) as bar:
        report = run_video_benchmark(bench, rate=args.rate, progress=bar)
    out = Path(args.out) if args.out else bench / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    if args.json:
        print_json(report)
        return 0
    rows = [
        [
            edit,
            e["queries"],
            f"{e['recall']:.3f}",
            f"{e['aligned']:.3f}",
            f"{e['precision']:.3f}",
        ]
        for edit, e in report["edits"].items()
    ]
    rows.append(
        [
            "all",
            report["queries"],
            f"{report['recall']:.3f}",
            f"{report['aligned']:.3f}",
            f"{report['precision']:.3f}",
        ]
    )
    print(table(["edit", "queries", "recall", "aligned", "precision"], rows))
    print(
        f"\nSpearman rho {report['spearman']:.3f} (aligned similarity), "
        f"{report['spearman_shares']:.3f} (vPDQ's shares) over {report['rated_pairs']} pairs; "
        f"ratings {report['ratings']}"
    )
    print(f"written: {out / 'results.json'}")
    return 0
