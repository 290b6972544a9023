"""``lookalike migrate --db DIR --to faiss|milvus|postgres``: move a collection's index."""

from __future__ import annotations

import argparse

from lookalike.cli.arguments import add_milvus_uri, add_postgres_uri
from lookalike.cli.output import print_json
from lookalike.store.index import BACKENDS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "migrate",
        help="move a collection to another index backend / 迁移索引后端",
        description="Rebuild the collection's index in another backend from its catalog, "
        "switch to it, and delete the old index.",
    )
    p.add_argument("--db", required=True, metavar="DIR", help="collection folder")
    p.add_argument("--to", required=True, choices=BACKENDS, help="target backend")
    add_milvus_uri(p)
    add_postgres_uri(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lookalike.search.collection import Collection

    with Collection(args.db) as coll:
        before = coll.stats()["backend"]
        info = coll.migrate(args.to, milvus_uri=args.milvus_uri, postgres_uri=args.postgres_uri)
    if args.json:
        print_json({"from": before, "to": info["backend"], "collection": info})
    else:
        print(
            f"{before} -> {info['backend']}: {info['index']['size']} images "
            f"({info['index']['location']})"
        )
    return 0
