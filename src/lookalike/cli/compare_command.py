"""``lookalike compare A B``: every method's distance, similarity and verdict."""

from __future__ import annotations

import argparse
import sys

from lookalike.cli.arguments import add_model, with_model
from lookalike.cli.output import print_json
from lookalike.errors import LookalikeError
from lookalike.methods import DEFAULT_METHODS, METHODS, MODEL_METHODS
from lookalike.reports.text import table

VERDICT_ZH = {"identical": "相同", "similar": "相似", "uncertain": "不确定", "different": "不同"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two images with every method / 比较两张图片",
        description="Compare two images: each method's distance, similarity and verdict, "
        "and an overall verdict (identical, similar or different).",
    )
    p.add_argument("a", help="first image (path)")
    p.add_argument("b", help="second image (path)")
    p.add_argument(
        "--method",
        "-m",
        action="append",
        choices=(*METHODS, *MODEL_METHODS),
        metavar="M",
        help=f"method to run (repeatable; default: {' '.join(DEFAULT_METHODS)}, and embed "
        f"with --model); choices: {', '.join((*METHODS, *MODEL_METHODS))}",
    )
    add_model(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    # --- video hook: two videos (by content) are compared in time (lookalike.video) ---
    video = p.add_argument_group("videos (when both files are videos)")
    video.add_argument("--rate", type=float, default=None, help="frames per second (default 1)")
    video.add_argument("--min-samples", type=int, default=None, help="at least N frames")
    video.add_argument("--time-limit", type=float, default=None, help="seconds per video")
    # --- end of the video hook ---
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lookalike.cli.videos_command import both_videos, compare_videos
    from lookalike.comparison import compare

    if both_videos(args.a, args.b):  # video hook
        return compare_videos(args)

    try:
        methods = with_model(args.method or DEFAULT_METHODS, args.model)
    except LookalikeError as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 2
    result = compare(args.a, args.b, methods=methods)
    if args.json:
        print_json(result.to_dict())
        return 0
    rows = []
    for name, s in result.scores.items():
        d = s.distance
        dist = str(int(d)) if float(d).is_integer() else f"{d:.3f}"
        rows.append([name, dist, f"{s.similarity:.1%}", f"{s.verdict} {VERDICT_ZH[s.verdict]}"])
    print(f"{result.a}\n{result.b}\n")
    print(table(["method", "distance", "similarity", "verdict"], rows))
    how = ""
    if result.relation is not None:
        how = f"{result.relation.words()} {result.relation.words('zh')}, "
    print(
        f"\nverdict 结论: {result.verdict} {VERDICT_ZH[result.verdict]} "
        f"({how}{result.calibrated:.1%}, decided by {result.decided_by})"
    )
    return 0
