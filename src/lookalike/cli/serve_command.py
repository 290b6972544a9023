"""``lookalike serve --db DIR``: the search page and JSON API of one collection (uvicorn)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
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
        f"(default: ${TOKEN_ENV} when set, else a new random token, printed at start-up)",
    )
    p.add_argument(
        "--no-token",
        action="store_true",
        help="let anyone who reaches the server add and remove images (no token)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests for this host name (repeatable; '*': any name). By "
        "default only 127.0.0.1, localhost, [::1] and the --host address are answered, "
        "which keeps DNS-rebinding pages out",
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
    p.add_argument(
        "--max-memory-mb",
        type=float,
        default=2048.0,
        metavar="MB",
        help="memory that decoding and searching may use at once; an image whose header "
        "promises more than one request's share is refused before decoding (default 2048)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="close a connection whose request head is not in after S seconds (default 10)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="close a connection whose request body is not in after S seconds (default 120)",
    )
    p.add_argument(
        "--url-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="a URL search waits at most S seconds for each network step and 2 x S in all "
        "(default 10)",
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


def allowed_hosts(host: str, extra: list[str]) -> list[str] | None:
    """The Host names to answer: loopback, the bound address (unless a wildcard), ``extra``.

    None (any name) when ``extra`` holds ``*``.
    """
    from lookalike.web.app import LOOPBACK_HOSTS

    if "*" in extra:
        return None
    names = [*LOOPBACK_HOSTS, *(h.strip().strip("[]").lower() for h in extra if h.strip())]
    if host not in ("", "0.0.0.0", "::"):
        names.append(host.strip("[]").lower())
    return names


def run(args: argparse.Namespace) -> int:
    require("uvicorn", "web")
    require("fastapi", "web")
    from lookalike.search.collection import Collection
    from lookalike.web.app import create_app
    from lookalike.web.server import run as serve

    for option, value in (
        ("--max-upload-mb", args.max_upload_mb),
        ("--max-memory-mb", args.max_memory_mb),
        ("--header-timeout", args.header_timeout),
        ("--body-timeout", args.body_timeout),
        ("--url-timeout", args.url_timeout),
    ):
        if not value > 0:
            print(f"lookalike serve: {option} must be positive", file=sys.stderr)
            return 2
    given = args.token or os.environ.get(TOKEN_ENV) or None
    if args.no_token and args.token:
        print("lookalike serve: --token and --no-token contradict each other", file=sys.stderr)
        return 2
    token = None if args.no_token else given or secrets.token_urlsafe(24)
    if not _loopback(args.host) and token is None:
        print(
            f"lookalike serve: warning: listening on {args.host} without a token: anyone who "
            "reaches this port can add and remove images",
            file=sys.stderr,
        )
    # A made-up token goes into the page only on loopback, where the page's reader is this
    # machine's user; given tokens never do (whoever holds one decides who else does).
    embed = token is not None and given is None and _loopback(args.host)
    collection = Collection(args.db)
    try:
        app = create_app(
            collection,
            token=token,
            embed_token=embed,
            allow_private_urls=args.allow_private_urls,
            max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
            url_timeout=args.url_timeout,
            allowed_hosts=allowed_hosts(args.host, args.allow_host),
            memory_bytes=int(args.max_memory_mb * 1024 * 1024),
        )
        shown = f"[{args.host}]" if ":" in args.host else args.host
        counts = collection.stats()
        videos = f" and {counts['videos']} videos" if counts.get("videos") else ""
        print(
            f"lookalike: serving {counts['images']} images{videos} of {args.db} at "
            f"http://{shown}:{args.port}/ (Ctrl+C to stop) / 服务已启动",
            file=sys.stderr,
            flush=True,
        )
        if args.host in ("0.0.0.0", "::") and not args.allow_host:
            print(
                "lookalike: only requests for 127.0.0.1, localhost and [::1] are answered; add "
                "--allow-host NAME for each name or address others use to reach this machine",
                file=sys.stderr,
                flush=True,
            )
        if token is not None and given is None:
            print(
                f"lookalike: adding and removing images needs 'Authorization: Bearer {token}' "
                "(a new token each start; --token or $LOOKALIKE_TOKEN to choose one)",
                file=sys.stderr,
                flush=True,
            )
        serve(
            app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            head_timeout=args.header_timeout,
            body_timeout=args.body_timeout,
        )
    finally:
        collection.close()
    return 0
