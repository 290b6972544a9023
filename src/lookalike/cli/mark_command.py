"""``lookalike mark``: "not duplicates" and "keep this one", stored in the catalog."""

from __future__ import annotations

import argparse
import json
import os
import sys

from lookalike.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "mark",
        help="mark files as not duplicates, or to keep / 标记",
        description="Decisions every later dupes run respects, keyed by the files' contents "
        "(they survive moves and renames).",
    )
    p.add_argument(
        "--cache",
        default=None,
        metavar="FILE|URI",
        help="catalog file (default: the per-user one), or a postgresql:// URI",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    nd = verbs.add_parser("not-duplicates", help="these files are not copies of each other")
    nd.add_argument("files", nargs="+", metavar="FILE")
    keep = verbs.add_parser("keep", help="this file is the keeper of its group")
    keep.add_argument("files", nargs=1, metavar="FILE")
    ls = verbs.add_parser("list", help="list the marks")
    ls.add_argument("--json", action="store_true", help="print JSON")
    rm = verbs.add_parser("remove", help="remove a mark")
    rm.add_argument("kind", choices=("not-duplicates", "keep"))
    rm.add_argument("files", nargs="+", metavar="FILE")
    ex = verbs.add_parser("export", help="write every mark to a JSON file")
    ex.add_argument("file", metavar="FILE")
    im = verbs.add_parser("import", help="add the marks of a JSON file")
    im.add_argument("file", metavar="FILE")
    p.set_defaults(run=run)


def _usage(message: str) -> int:
    print(f"lookalike: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from lookalike.dupes.marks import digests_of, export_marks, import_marks, read_json
    from lookalike.errors import LookalikeError
    from lookalike.store.catalog import open_catalog

    kind = {"not-duplicates": "not-duplicates", "keep": "keep"}.get(args.verb)
    if args.verb == "remove":
        kind = args.kind
    files = [os.path.abspath(f) for f in getattr(args, "files", [])]
    if kind == "not-duplicates" and len(set(files)) < 2:
        return _usage("not-duplicates needs two or more different files")
    if kind == "keep" and len(files) != 1:
        return _usage("keep takes one file")
    for f in files:
        if not os.path.isfile(f):
            return _usage(f"{f}: no such file")
    if args.verb == "import" and not os.path.isfile(args.file):
        return _usage(f"{args.file}: no such file")
    try:
        digests = digests_of(files) if files else []
        data = read_json(args.file) if args.verb == "import" else None
    except LookalikeError as exc:
        return _usage(str(exc))
    if kind == "not-duplicates" and len(set(digests)) < 2:
        return _usage("these files hold the same bytes: they are copies")
    with open_catalog(args.cache) as cat:
        if args.verb in ("not-duplicates", "keep"):
            new = cat.add_mark(kind or "", digests, files)
            print(("marked 已标记" if new else "already marked 已有此标记") + f": {kind}")
        elif args.verb == "remove":
            n = cat.remove_mark(kind or "", digests)
            print(f"removed 已删除: {n}")
            return 0 if n else 1
        elif args.verb == "list":
            rows = cat.marks()
            if args.json:
                print_json(export_marks(cat))
            for r in [] if args.json else rows:
                print(f"{r.kind}  {r.created}  " + "  ".join(r.paths or r.digests))
        elif args.verb == "export":
            doc = export_marks(cat)
            from lookalike.store.atomic import atomic_write

            with atomic_write(args.file, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False, indent=2)
            print(f"exported 已导出: {len(doc['marks'])} -> {args.file}")  # type: ignore[arg-type]
        else:
            try:
                n = import_marks(cat, data, args.file)
            except LookalikeError as exc:
                return _usage(str(exc))
            print(f"imported 已导入: {n}")
    return 0
