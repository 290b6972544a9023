"""``lookalike videos PATH...``: groups of duplicate videos; and ``compare A B`` for videos.

Thin layer over :mod:`lookalike.video`: fingerprints (one pHash per sampled frame),
vPDQ-style shares of matching frames, aligned segments with their time offsets.
"""

from __future__ import annotations

import argparse
from typing import Any

from lookalike.cli.apply_command import print_actions
from lookalike.cli.arguments import action_problem, add_actions, count
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
    add_actions(
        p,
        review_help="after the scan, serve the review page on 127.0.0.1 (choose keepers, then "
        "move / trash / delete, journalled, with undo), as `dupes --review` does for images",
        plan_help="write what --move-to / --trash (default) / --delete would do, do nothing; "
        "run it later with `lookalike apply` (the image plans' format)",
        keep_in_help="reference folder: its videos are never moved or deleted (repeatable)",
    )
    p.set_defaults(run=run)


def _check(args: argparse.Namespace) -> str | None:
    """Why the action arguments cannot work (before any decoding), or None."""
    return action_problem(args, review_excludes=("move_to", "trash", "delete", "plan"))


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
    import sys

    from lookalike.video.collection import find_video_duplicates

    problem = _check(args)
    if problem is not None:
        print(f"lookalike: {problem}", file=sys.stderr)
        return 2
    with ProgressBar({"fingerprinting": "fingerprinting 指纹", "aligning": "aligning 对齐"}) as bar:
        report = find_video_duplicates(
            args.paths,
            rate=args.rate,
            min_samples=args.min_samples,
            time_limit=args.time_limit,
            progress=bar,
        )
    if getattr(args, "review", False):
        return _review(args, report)
    actions, journal = _act(args, report)
    if args.json:
        data = report.to_dict()
        if actions:
            data["actions"] = [a.to_dict() for a in actions]
        print_json(data)
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
        if args.plan:
            print(f"plan 计划: {args.plan}  (run 执行: lookalike apply {args.plan})")
        print_actions(actions, False, journal)
    for f in report.failures:
        error(f.path, f.reason)
    return 1 if report.failures or any(a.error for a in actions) else 0


def _review(args: argparse.Namespace, report: Any) -> int:
    """Serve the image review page over the video groups (those whose copies the keeper
    holds); cards show a frame of each video. Until Ctrl+C."""
    from lookalike.cli.dupes_command import review_report
    from lookalike.video.plan import video_duplicate_report

    groups, kept = video_duplicate_report(report)
    for k in kept:
        print(f"keep 保留 {k.path}  ({k.reason})")
    for f in report.failures:
        error(f.path, f.reason)
    review_report(groups, args.paths, open_browser=not args.no_browser, cache="")
    return 1 if report.failures else 0


def _act(args: argparse.Namespace, report: Any) -> tuple[list[Any], str | None]:
    """Write the plan, or run it (journalled; deleting asks first): the actions and the
    journal written, if any. See :mod:`lookalike.video.plan` for what is acted on."""
    import sys

    from lookalike.cli.apply_command import confirm_deletes
    from lookalike.cli.dupes_command import default_cache_journal
    from lookalike.dupes.plan import apply_plan
    from lookalike.video.plan import plan_from_videos

    if not (args.plan or args.move_to or args.delete or args.trash):
        return [], None
    kind = "move" if args.move_to else "delete" if args.delete else "trash"
    plan = plan_from_videos(report, kind, dest=args.move_to, keep_in=args.keep_in, roots=args.paths)
    if args.plan:
        plan.write(args.plan)
        return [], None
    doomed = [a.path for a in plan.actions if a.action == "delete"]
    if not (args.dry_run or not doomed or args.yes or confirm_deletes(doomed)):
        print("lookalike: nothing deleted", file=sys.stderr)
        return [], None
    journal = args.journal or default_cache_journal("videos")
    actions = apply_plan(plan, journal, dry_run=args.dry_run)
    return actions, None if args.dry_run else journal


def _span(start: float, end: float) -> str:
    from lookalike.video.align import clock

    return f"{clock(start)}-{clock(end)}"


def both_videos(a: str, b: str) -> bool:
    """True when both files are videos by content (the hook ``compare`` asks)."""
    from lookalike.formats import is_video

    return is_video(a) and is_video(b)


def compare_videos(args: argparse.Namespace) -> int:
    """``lookalike compare A B`` for two videos: the match, its segments and shares."""
    from lookalike.video import fingerprint_video
    from lookalike.video.align import match_mirrored

    opts: dict[str, Any] = {}
    for name in ("rate", "min_samples", "time_limit"):
        if getattr(args, name, None) is not None:
            opts[name] = getattr(args, name)
    fa = fingerprint_video(args.a, **opts)
    fb = fingerprint_video(args.b, mirror=True, **opts)
    m = match_mirrored(fa, fb)  # B mirrored left to right where the plain match fails
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
    if m.mirrored:
        verdict += " (B mirrored 镜像)"
    print(f"verdict 结论: {verdict}")
    return 0
