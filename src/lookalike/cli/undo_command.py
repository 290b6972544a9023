"""``lookalike undo JOURNAL``: put back what an apply (or dupes action) moved or trashed."""

from __future__ import annotations

import argparse
import sys

from lookalike.cli.apply_command import print_actions


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "undo",
        help="undo an apply from its journal / 撤销",
        description="Move moved files back and restore trashed files, from the journal an "
        "apply wrote (also after the apply was killed). Deleted files cannot come back.",
    )
    p.add_argument("journal", metavar="JOURNAL")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lookalike.dupes.plan import read_journal, undo
    from lookalike.errors import LookalikeError

    try:
        read_journal(args.journal)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"lookalike: {args.journal}: cannot read the journal: {exc}", file=sys.stderr)
        return 2
    except LookalikeError as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 2
    actions = undo(args.journal)
    print_actions(actions, args.json, None)
    return 1 if any(a.error for a in actions) else 0
