"""``lookalike dupes PATH...``: groups of copies, a keeper each, reports and safe actions."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from lookalike.cli.arguments import add_jobs, percentage
from lookalike.cli.output import ProgressBar, print_json
from lookalike.errors import LookalikeError, require
from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.methods import METHODS

if TYPE_CHECKING:
    from lookalike.dupes.actions import Action
    from lookalike.dupes.records import DuplicateReport


def register(sub: argparse._SubParsersAction) -> None:
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
        metavar="S",
        help="similarity at which the hash layer alone calls a pair similar, in %% "
        "(default 87.5 = at most 8 of 64 pHash bits differ)",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(DEFAULT_LAYERS),
        metavar="M",
        help=f"layers to run (default: {' '.join(DEFAULT_LAYERS)}; drop orb for speed)",
    )
    p.add_argument("--recursive", action=argparse.BooleanOptionalAction, default=True)
    add_jobs(p)
    p.add_argument(
        "--cache",
        default=None,
        metavar="FILE",
        help="feature cache file (default: the per-user cache folder)",
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
    p.add_argument("--move-to", metavar="DIR", help="move every copy but the keeper into DIR")
    p.add_argument("--delete", action="store_true", help="delete every copy but the keeper")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before deleting")
    p.add_argument("--dry-run", action="store_true", help="say what would be moved or deleted")
    p.add_argument(
        "--review",
        action="store_true",
        help="after the scan, serve a review page on 127.0.0.1 (choose keepers, mark groups "
        "'not duplicates', move / trash / delete after a summary, undo) and open it in the "
        "browser; Ctrl+C stops it. Needs the 'web' extra",
    )
    p.add_argument(
        "--no-browser", action="store_true", help="with --review: print the address, do not open it"
    )
    p.set_defaults(run=run)


def _confirm(doomed: list[Action]) -> bool:
    """Show every file that would be deleted, then ask (a terminal only)."""
    if not sys.stdin or not sys.stdin.isatty():
        print("lookalike: --delete needs --yes when not run from a terminal", file=sys.stderr)
        return False
    for a in doomed:
        print(f"  delete 删除: {a.path}", file=sys.stderr)
    n = len(doomed)
    answer = input(f"Delete these {n} files? 删除以上 {n} 个文件？ [y/N] ").strip().lower()
    return answer in ("y", "yes", "是")


def run(args: argparse.Namespace) -> int:
    from lookalike.dupes.actions import check_destination, delete_copies, move_copies
    from lookalike.dupes.find import DupesOptions, find_duplicates
    from lookalike.reports.export import check_report_path, write_report
    from lookalike.reports.text import format_table

    if args.move_to and args.delete:
        print("lookalike: choose --move-to or --delete, not both", file=sys.stderr)
        return 2
    if args.review and (args.move_to or args.delete):
        print("lookalike: --review acts from the page: drop --move-to / --delete", file=sys.stderr)
        return 2
    if args.review:
        try:
            require("uvicorn", "web")
            require("fastapi", "web")
        except LookalikeError as exc:
            print(f"lookalike: {exc}", file=sys.stderr)
            return 2
    try:  # every argument is checked before the scan starts
        if args.move_to:
            check_destination(args.move_to, args.paths)
        for path in args.report:
            check_report_path(path)
    except LookalikeError as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 2
    options = DupesOptions(
        methods=tuple(args.methods),
        threshold=args.threshold,
        recursive=args.recursive,
        jobs=args.jobs,
        cache="" if args.no_cache else args.cache,
    )
    stages = {"features": "fingerprints 指纹", "verifying": "keypoints 关键点"}
    with ProgressBar(stages) as bar:
        report = find_duplicates(args.paths, options, progress=bar)
    for path in args.report:
        write_report(report, path, lang=args.lang)
    actions: list[Action] = []
    if args.move_to:
        actions = move_copies(report, args.move_to, args.paths, dry_run=args.dry_run)
    elif args.delete:
        planned = delete_copies(report, dry_run=True)
        doomed = [a for a in planned if a.kind == "delete"]
        if args.dry_run or not doomed:
            actions = planned
        elif args.yes or _confirm(doomed):
            actions = delete_copies(report, dry_run=False)
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
        for a in actions:
            what = f"{a.kind} {a.path}" + (f" -> {a.target}" if a.target else "")
            note = a.error or a.reason or ("done" if a.done else "")
            print(f"{what}  ({note})")
    if args.review:
        _review(report, args.paths, open_browser=not args.no_browser)
    failed_actions = any(a.error for a in actions)
    return 1 if report.errors or failed_actions else 0


def _review(report: DuplicateReport, roots: list[str], *, open_browser: bool) -> None:
    """Serve the review page on a free loopback port until Ctrl+C (opening the browser)."""
    import secrets
    import socket
    import threading
    import webbrowser

    from lookalike.web.review import create_review_app
    from lookalike.web.server import make_server

    token = secrets.token_urlsafe(24)
    app = create_review_app(report, roots, token=token)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server = make_server(app, host="127.0.0.1", port=0, log_level="warning")
    print(
        f"lookalike: review page at {url} (Ctrl+C to stop) / 审阅页面已启动",
        file=sys.stderr,
        flush=True,
    )
    if open_browser:

        def opener() -> None:
            for _ in range(200):
                if server.started:
                    webbrowser.open(url)
                    return
                threading.Event().wait(0.05)

        threading.Thread(target=opener, daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
