"""``lookalike dupes PATH...``: groups of copies, a keeper each, reports and safe actions."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from lookalike.cli.arguments import (
    action_problem,
    add_actions,
    add_engine,
    add_jobs,
    add_model,
    count,
    engine_problem,
    percentage,
    with_model,
)
from lookalike.cli.output import ProgressBar, print_json
from lookalike.errors import LookalikeError
from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.match.relation import KINDS
from lookalike.methods import METHODS, MODEL_METHODS

if TYPE_CHECKING:
    from lookalike.dupes.actions import Action
    from lookalike.dupes.records import DuplicateReport


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "dupes",
        help="find copies in folders / 查找重复和相似图片",
        description="Find images that are copies of each other under folders, files and zip "
        "archives: exact bytes, then perceptual hashes (also rotated and mirrored), colour "
        "and content, then ORB keypoints verified by RANSAC for crops and pasted copies. "
        "Nothing is moved or deleted unless asked.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--threshold",
        type=percentage,
        default=None,
        metavar="PCT",
        help="least similarity a pair needs to count, in %% on the calibrated scale every "
        "command shares (100 = identical file, 95 = re-encoded or resized, 90 = also "
        "greyscale, recoloured, mirrored, turned; every verified pair is >= 85; default: all)",
    )
    p.add_argument(
        "--relations",
        nargs="+",
        choices=KINDS,
        default=None,
        metavar="KIND",
        help="only these relations count as duplicates, e.g. --relations 'identical bytes' "
        f"recompressed resized (kinds: {', '.join(KINDS)}; default: all)",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        choices=(*METHODS, *MODEL_METHODS),
        default=list(DEFAULT_LAYERS),
        metavar="M",
        help=f"layers to run (default: {' '.join(DEFAULT_LAYERS)}; drop orb for speed; add "
        "embed for the learned layer, which proposes crops and pasted copies)",
    )
    add_model(p)
    p.add_argument("--recursive", action=argparse.BooleanOptionalAction, default=True)
    add_jobs(p)
    add_engine(p)
    p.add_argument(
        "--cache",
        default=None,
        metavar="FILE|URI",
        help="feature cache file (default: the per-user cache folder), or a postgresql:// "
        "URI: one catalog shared by every user and machine (needs the postgres extra)",
    )
    p.add_argument("--no-cache", action="store_true", help="use a throw-away cache")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FILE",
        help="write a report: .html, .xlsx, .csv or .json (repeatable)",
    )
    p.add_argument(
        "--lang",
        choices=("en", "zh", "both"),
        default="both",
        help="report language (default both)",
    )
    add_actions(
        p,
        review_help="after the scan, serve a review page on 127.0.0.1 (choose keepers, mark "
        "groups 'not duplicates', move / trash / delete after a summary, undo) and open it "
        "in the browser; Ctrl+C stops it. Needs the 'web' extra",
        plan_help="write what --move-to / --trash (default) / --delete would do, do nothing; "
        "run it later with `lookalike apply`",
        keep_in_help="reference folder: never moved or deleted, its file is the keeper "
        "(repeatable)",
    )
    p.add_argument(
        "--keep",
        default="original",
        metavar="RULE",
        help="which copy to keep: original (default: the least processed), largest, "
        "oldest, newest, path:GLOB",
    )
    p.add_argument("--min-size", type=count, default=0, metavar="PX", help="short side at least")
    p.add_argument("--min-bytes", type=count, default=0, metavar="N", help="files of N bytes+")
    p.add_argument("--ext", default="", metavar="LIST", help="only these extensions: jpg,png")
    p.add_argument(
        "--exact-only", action="store_true", help="only copies with the same bytes or pixels"
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="DIR_OR_GLOB",
        help="leave out a folder or names matching a glob (repeatable)",
    )
    p.add_argument("--hidden", action="store_true", help="also look in dot-folders")
    p.add_argument(
        "--videos",
        action="store_true",
        help="group the videos under PATH instead of the images (re-encoded, resized, "
        "trimmed, cut, mirrored copies), with the same --review, --plan and actions; "
        "`lookalike videos` has the sampling options",
    )
    p.set_defaults(run=run)


#: Options that only mean something for images: refused with --videos.
_IMAGE_ONLY = ("report", "threshold", "relations", "exact_only", "min_size", "min_bytes", "ext")


def _videos(args: argparse.Namespace) -> int:
    """``dupes --videos``: the video duplicate search (:mod:`lookalike.cli.videos_command`)
    with this command's review, plan and action options."""
    from lookalike.cli import videos_command
    from lookalike.video.frames import MIN_SAMPLES, TIME_LIMIT_S

    given = [n for n in _IMAGE_ONLY if getattr(args, n)]
    if given:
        flags = ", ".join("--" + n.replace("_", "-") for n in given)
        print(f"lookalike: {flags}: for images only, not with --videos", file=sys.stderr)
        return 2
    keys = ("paths", "json", "move_to", "trash", "delete", "yes", "dry_run", "plan")
    keys += ("journal", "keep_in", "review", "no_browser")
    video_args = argparse.Namespace(
        rate=1.0,
        min_samples=MIN_SAMPLES,
        time_limit=TIME_LIMIT_S,
        **{k: getattr(args, k) for k in keys},
    )
    return videos_command.run(video_args)


def default_cache_journal(kind: str = "dupes") -> str:
    """A fresh journal path in the cache folder's ``journals/`` (``KIND-TIME-PID.jsonl``)."""
    import time

    from lookalike.store.catalog import default_path

    stamp = time.strftime("%Y%m%d-%H%M%S")
    return str(default_path().parent / "journals" / f"{kind}-{stamp}-{os.getpid()}.jsonl")


def _check(args: argparse.Namespace) -> str | None:
    """Why the arguments cannot work (before any scan), or None."""
    from lookalike.match.grouping import KeeperRule
    from lookalike.reports.export import check_report_path

    problem = engine_problem(args) or action_problem(args)
    if problem is not None:
        return problem
    try:
        KeeperRule.parse(args.keep)
    except ValueError as exc:
        return f"--keep: {exc}"
    try:  # the embed layer's model is opened once here, so a bad file stops nothing midway
        with_model(args.methods, args.model)
    except LookalikeError as exc:
        return str(exc)
    if args.ext and not [e for e in args.ext.split(",") if e.strip()]:
        return "--ext: name at least one extension, e.g. jpg,png"
    try:
        for path in args.report:
            check_report_path(path)
    except LookalikeError as exc:
        return str(exc)
    return None


def run(args: argparse.Namespace) -> int:
    if args.videos:
        return _videos(args)
    from lookalike.cli.apply_command import confirm_deletes, print_actions
    from lookalike.dupes.find import DupesOptions, find_duplicates
    from lookalike.dupes.marks import load_marks
    from lookalike.dupes.plan import apply_plan, plan_from_report
    from lookalike.engines import open_engine
    from lookalike.match.grouping import KeeperRule
    from lookalike.reports.export import write_report
    from lookalike.reports.labels import STAGE_LABELS, stage_label
    from lookalike.reports.text import format_table
    from lookalike.sources.folders import Filters

    problem = _check(args)  # every argument is checked before the scan starts
    if problem is not None:
        print(f"lookalike: {problem}", file=sys.stderr)
        return 2
    cache = "" if args.no_cache else args.cache
    options = DupesOptions(
        methods=("phash8", "color", "content") if args.exact_only else tuple(args.methods),
        threshold=args.threshold,
        relations=tuple(args.relations) if args.relations else None,
        recursive=args.recursive,
        jobs=args.jobs,
        cache=cache,
        keep=KeeperRule.parse(args.keep, reference=tuple(args.keep_in)),
        marks=load_marks(args.cache) if args.no_cache else None,
        filters=Filters(
            exclude=tuple(args.exclude),
            hidden=args.hidden,
            extensions=Filters.normalise_extensions(args.ext.split(",")),
            min_bytes=args.min_bytes,
        ),
        min_size=args.min_size,
        exact_only=args.exact_only,
        model=args.model,
    )
    stages = {k: stage_label(k, args.lang) for k in STAGE_LABELS}
    with (
        open_engine(args.engine, args.address, jobs=args.jobs) as executor,
        ProgressBar(stages) as bar,
    ):
        report = find_duplicates(args.paths, options, progress=bar, executor=executor)
    for path in args.report:
        write_report(report, path, lang=args.lang)
    actions: list[Action] = []
    kind = "move" if args.move_to else "delete" if args.delete else "trash"
    if args.plan or args.move_to or args.delete or args.trash:
        plan = plan_from_report(
            report, kind, dest=args.move_to, keep_in=args.keep_in, roots=args.paths
        )
    if args.plan:
        plan.write(args.plan)
    elif args.move_to or args.delete or args.trash:
        doomed = [a.path for a in plan.actions if a.action == "delete"]
        journal = args.journal or default_cache_journal()
        if args.dry_run or not doomed or args.yes or confirm_deletes(doomed):
            actions = apply_plan(plan, journal, dry_run=args.dry_run)
            if not args.dry_run and not args.json:
                print(f"journal 日志: {journal}  (undo 撤销: lookalike undo {journal})")
        else:
            print("lookalike: nothing deleted", file=sys.stderr)
    if args.json:
        data = report.to_dict()
        if actions:
            data["actions"] = [a.to_dict() for a in actions]
        print_json(data)
    else:
        print(format_table(report, lang=args.lang))
        for path in args.report:
            print(f"report 报告: {path}")
        if args.plan:
            print(f"plan 计划: {args.plan}  (run 执行: lookalike apply {args.plan})")
        print_actions(actions, False, None)  # the journal was named when it was written
    if args.review:
        review_report(report, args.paths, open_browser=not args.no_browser, cache=cache)
    failed_actions = any(a.error for a in actions)
    return 1 if report.errors or failed_actions else 0


def remember_not_duplicates(report: DuplicateReport, cache: str | None, paths: list[str]) -> None:
    """Store "not duplicates" for ``paths`` (by their scanned digests) in the catalog."""
    if cache == "":
        return
    from lookalike.store.catalog import open_catalog

    digests = [report.digests[p] for p in paths if p in report.digests]
    if len(digests) >= 2:
        with open_catalog(cache) as catalog:
            catalog.add_mark("not-duplicates", digests, paths)


def review_report(
    report: DuplicateReport, roots: list[str], *, open_browser: bool, cache: str | None
) -> None:
    """Serve the review page on a free loopback port until Ctrl+C (opening the browser).

    A group marked "not duplicates" on the page is stored in the catalog's marks (unless
    the run has no catalog, ``--no-cache``), so later runs respect it as they do
    ``lookalike mark not-duplicates``.
    """
    import secrets

    from lookalike.web.review import create_review_app
    from lookalike.web.server import serve_page_on_loopback

    def remember(paths: list[str]) -> None:
        remember_not_duplicates(report, cache, paths)

    token = secrets.token_urlsafe(24)
    app = create_review_app(report, roots, token=token, on_not_duplicates=remember)
    serve_page_on_loopback(app, "review page", "审阅页面已启动", open_browser=open_browser)
