"""``lookalike serve --db DIR``: the search page and JSON API of one collection (uvicorn)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from lookalike.errors import require

#: Environment variable read for the token when ``--token`` is not given (keeps it out of ps).
TOKEN_ENV = "LOOKALIKE_TOKEN"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a search page and JSON API for a collection / 启动以图搜图网页和接口",
        description="Serve a collection over HTTP: a page to search by example (drop, paste, "
        "pick or link an image) and a JSON API (POST /api/search, /api/images, /api/compare; "
        "GET /api/stats; OpenAPI at /openapi.json). Needs the 'web' extra.",
    )
    p.add_argument("--db", required=True, metavar="DIR", help="the collection folder")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--token",
        default=None,
        help=f"require 'Authorization: Bearer TOKEN' to add or remove images "
        f"(default: ${TOKEN_ENV} when set, else no token)",
    )
    p.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="let URL searches fetch from loopback and private networks (off: refused)",
    )
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=20.0,
        metavar="MB",
        help="largest image accepted, uploaded or fetched (default 20)",
    )
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info"])
    p.set_defaults(run=run)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    uvicorn = require("uvicorn", "web")
    require("fastapi", "web")
    from lookalike.search.collection import Collection
    from lookalike.web.app import create_app

    if args.max_upload_mb <= 0:
        print("lookalike serve: --max-upload-mb must be positive", file=sys.stderr)
        return 2
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not _loopback(args.host) and token is None:
        print(
            f"lookalike serve: warning: listening on {args.host} without a token: anyone who "
            "reaches this port can add and remove images (use --token)",
            file=sys.stderr,
        )
    collection = Collection(args.db)
    try:
        app = create_app(
            collection,
            token=token,
            allow_private_urls=args.allow_private_urls,
            max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        )
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(
            f"lookalike: serving {collection.stats()['images']} images of {args.db} at "
            f"http://{shown}:{args.port}/ (Ctrl+C to stop) / 服务已启动",
            file=sys.stderr,
            flush=True,
        )
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        collection.close()
    return 0
