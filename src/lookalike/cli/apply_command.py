"""``lookalike apply PLAN.json``: run a plan (re-checked, journalled, undoable)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lookalike.cli.output import print_json

if TYPE_CHECKING:
    from lookalike.dupes.actions import Action


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "apply",
        help="run a plan written by dupes --plan / 执行清理计划",
        description="Run the moves, trash and deletions of a plan file, each after "
        "re-checking the keeper and the copy, journalled so that `lookalike undo` can "
        "take it back.",
    )
    p.add_argument("plan", metavar="PLAN.json")
    p.add_argument(
        "--journal",
        metavar="FILE",
        help="journal file (default: PLAN.json's name + .<time>.journal.jsonl beside it)",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before deleting")
    p.add_argument("--dry-run", action="store_true", help="check every step, change nothing")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def default_journal(near: str) -> str:
    """A fresh journal path beside ``near``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{os.path.splitext(os.path.abspath(near))[0]}.{stamp}.journal.jsonl"


def confirm_deletes(paths: list[str]) -> bool:
    """Show every file that would be deleted, then ask (a terminal only)."""
    if not sys.stdin or not sys.stdin.isatty():
        print("lookalike: deleting needs --yes when not run from a terminal", file=sys.stderr)
        return False
    for p in paths:
        print(f"  delete 删除: {p}", file=sys.stderr)
    n = len(paths)
    answer = input(f"Delete these {n} files? 删除以上 {n} 个文件？ [y/N] ").strip().lower()
    return answer in ("y", "yes", "是")


def print_actions(actions: Sequence[Action], as_json: bool, journal: str | None) -> None:
    """The steps for people (one line each) or programs (JSON)."""
    if as_json:
        data: dict[str, object] = {"actions": [a.to_dict() for a in actions]}
        if journal:
            data["journal"] = journal
        print_json(data)
        return
    for a in actions:
        what = f"{a.kind} {a.path}" + (f" -> {a.target}" if a.target else "")
        note = a.error or a.reason or ("done" if a.done else "")
        print(f"{what}  ({note})")
    if journal:
        print(f"journal 日志: {journal}  (undo 撤销: lookalike undo {journal})")


def run(args: argparse.Namespace) -> int:
    from lookalike.dupes.plan import Plan, apply_plan
    from lookalike.errors import LookalikeError

    try:
        plan = Plan.read(args.plan)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"lookalike: {args.plan}: cannot read the plan: {exc}", file=sys.stderr)
        return 2
    except LookalikeError as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 2
    journal = args.journal or default_journal(args.plan)
    if args.journal and os.path.isdir(args.journal):
        print(f"lookalike: {args.journal}: the journal must be a file", file=sys.stderr)
        return 2
    doomed = [a.path for a in plan.actions if a.action == "delete"]
    if doomed and not args.dry_run and not args.yes and not confirm_deletes(doomed):
        print("lookalike: nothing done", file=sys.stderr)
        return 1
    actions = apply_plan(plan, journal, dry_run=args.dry_run)
    print_actions(actions, args.json, None if args.dry_run else journal)
    return 1 if any(a.error for a in actions) else 0
