"""``lookalike videos PATH...``: groups of duplicate videos; and ``compare A B`` for videos.

Thin layer over :mod:`lookalike.video`: fingerprints (one pHash per sampled frame),
vPDQ-style shares of matching frames, aligned segments with their time offsets.
"""

from __future__ import annotations

import argparse
from typing import Any

from lookalike.cli.arguments import count
from lookalike.cli.output import ProgressBar, error, print_json
from lookalike.reports.text import table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "videos",
        help="groups of duplicate videos in folders / 查找重复视频",
        description="Find duplicate videos under folders: re-encoded, resized, trimmed, cut, "
        "logo or border copies. Each copy is aligned with its group's keeper: which "
        "segment of one is which of the other, and the share of matching frames.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="video files or folders")
    add_rate_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def add_rate_options(p: argparse.ArgumentParser) -> None:
    from lookalike.video.frames import MAX_RATE, MIN_SAMPLES, TIME_LIMIT_S

    p.add_argument(
        "--rate",
        type=_positive_float,
        default=1.0,
        help="frames sampled per second (default 1, as vPDQ)",
    )
    p.add_argument(
        "--min-samples",
        type=count,
        default=MIN_SAMPLES,
        help=f"sample short videos faster (up to {MAX_RATE:g}/s) to get this many frames "
        f"(default {MIN_SAMPLES}; 0: never)",
    )
    p.add_argument(
        "--time-limit",
        type=_positive_float,
        default=TIME_LIMIT_S,
        help=f"seconds allowed to decode one video (default {TIME_LIMIT_S:g})",
    )


def run(args: argparse.Namespace) -> int:
    from lookalike.video.collection import find_video_duplicates

    with ProgressBar({"fingerprinting": "fingerprinting 指纹", "aligning": "aligning 对齐"}) as bar:
        report = find_video_duplicates(
            args.paths,
            rate=args.rate,
            min_samples=args.min_samples,
            time_limit=args.time_limit,
            progress=bar,
        )
    if args.json:
        print_json(report.to_dict())
    else:
        for k, group in enumerate(report.groups, 1):
            print(f"group {k}: keeper 保留 {group.keeper}")
            rows = []
            for m in group.members:
                first = m.segments[0] if m.segments else None
                rows.append(
                    [
                        m.b,
                        f"{m.coverage_b:.0%}",
                        f"{m.share_b:.0%}",
                        "-" if first is None else _span(first.b_start, first.b_end),
                        "-" if first is None else _span(first.a_start, first.a_end),
                        len(m.segments),
                    ]
                )
            print(
                table(["copy", "covered", "frames", "copy span", "keeper span", "segments"], rows)
            )
            print()
        print(f"{report.videos} videos, {len(report.groups)} groups of copies")
    for f in report.failures:
        error(f.path, f.reason)
    return 1 if report.failures else 0


def _span(start: float, end: float) -> str:
    from lookalike.video.align import clock

    return f"{clock(start)}-{clock(end)}"


def both_videos(a: str, b: str) -> bool:
    """True when both files are videos by content (the hook ``compare`` asks)."""
    from lookalike.formats import is_video

    return is_video(a) and is_video(b)


def compare_videos(args: argparse.Namespace) -> int:
    """``lookalike compare A B`` for two videos: the match, its segments and shares."""
    from lookalike.video import fingerprint_video, match_videos

    opts: dict[str, Any] = {}
    for name in ("rate", "min_samples", "time_limit"):
        if getattr(args, name, None) is not None:
            opts[name] = getattr(args, name)
    fa = fingerprint_video(args.a, **opts)
    fb = fingerprint_video(args.b, **opts)
    m = match_videos(fa, fb)
    if args.json:
        print_json(m.to_dict() | {"rate_a": fa.rate, "rate_b": fb.rate})
        return 0
    for label, fp in (("A", fa), ("B", fb)):
        print(
            f"{label}: {fp.path}  ({fp.duration:.1f} s, {fp.width}x{fp.height}, "
            f"{fp.fps:.2f} fps, {len(fp)} frames sampled, {int(fp.blank.sum())} blank)"
        )
    print()
    if m.segments:
        rows = [
            [
                _span(s.a_start, s.a_end),
                _span(s.b_start, s.b_end),
                f"{s.offset:+.1f} s",
                f"{s.share:.0%}",
            ]
            for s in m.segments
        ]
        print(table(["A", "B", "offset", "frames"], rows))
        print()
        for s in m.segments:
            print(s.describe())
        print()
    print(f"frames of A found in B: {m.share_a:.0%}; frames of B found in A: {m.share_b:.0%}")
    print(f"A covered: {m.coverage_a:.0%}; B covered: {m.coverage_b:.0%}")
    verdict = "match 相同视频" if m.match else "no match 不同视频"
    print(f"verdict 结论: {verdict}")
    return 0
