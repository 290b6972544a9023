"""``lookalike index PATH... --db DIR``: create or update a searchable collection."""

from __future__ import annotations

import argparse
import sys

from lookalike.cli.arguments import (
    add_engine,
    add_jobs,
    add_milvus_uri,
    add_model,
    add_postgres_uri,
    engine_problem,
)
from lookalike.cli.output import ProgressBar, print_json
from lookalike.errors import MissingDependencyError, UsageError
from lookalike.reports.text import table
from lookalike.store.index import BACKENDS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "index",
        help="index images for search / 建立图片索引",
        description="Create or update the collection in DIR from folders, files and zip "
        "archives: new and changed images are hashed, removed ones dropped; an interrupted "
        "run resumes. Videos (found by content) are fingerprinted too, one pHash per sampled "
        "frame, so a still finds the video and the time. Search it with lookalike search.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--db", required=True, metavar="DIR", help="collection folder")
    add_jobs(p)
    add_engine(p)
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="index backend for a new collection (default faiss)",
    )
    add_milvus_uri(p)
    add_postgres_uri(p)
    p.add_argument(
        "--catalog",
        default=None,
        metavar="URI",
        help="keep a new collection's catalog in this PostgreSQL database "
        "(postgresql://user@host/db) instead of DIR: collections on several machines "
        "that name one database index into one catalog",
    )
    add_model(p)
    p.epilog = (
        "--model adds the learned layer to the collection (kept for later runs): search "
        "then also finds tight crops and pasted copies the hashes miss."
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lookalike.engines import open_engine
    from lookalike.search.collection import Collection

    problem = engine_problem(args)
    if problem is not None:
        print(f"lookalike: {problem}", file=sys.stderr)
        return 2
    try:
        coll = Collection(
            args.db,
            backend=args.backend,
            create=True,
            milvus_uri=args.milvus_uri,
            postgres_uri=args.postgres_uri,
            catalog_uri=args.catalog,
            model=args.model,
        )
    except (UsageError, MissingDependencyError) as exc:  # the model: said before any work
        print(f"lookalike: {exc}", file=sys.stderr)
        return 2
    with (
        coll,
        open_engine(args.engine, args.address, jobs=args.jobs) as executor,
    ):
        with ProgressBar({"features": "indexing 索引", "videos": "videos 视频"}) as bar:
            stats = coll.update(args.paths, jobs=args.jobs, progress=bar, executor=executor)
        info = coll.stats()
    if args.json:
        print_json({"update": stats.to_dict(), "collection": info})
    else:
        print(
            table(
                [
                    "scanned 扫描",
                    "new/changed 新增/变更",
                    "cached 缓存",
                    "removed 删除",
                    "errors 错误",
                    "images 图片",
                    "seconds 秒",
                ],
                [
                    [
                        stats.scanned,
                        stats.computed,
                        stats.cached,
                        stats.removed,
                        stats.failed,
                        stats.images,
                        f"{stats.seconds:.1f}",
                    ]
                ],
            )
        )
        if stats.videos:
            print(f"videos 视频: {stats.videos}")
        for f in stats.errors[:20]:
            print(f"lookalike: {f.path}: {f.reason}", file=sys.stderr)
        print(f"collection 集合: {info['directory']} ({info['backend']})")
        if "vectors" in info:  # the learned descriptors, in the server backend
            where = info["vectors"].get("collection") or info["vectors"].get("table")
            print(f"descriptors 特征向量: {info['vectors']['size']} ({where})")
    return 1 if stats.errors else 0
