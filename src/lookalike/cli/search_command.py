"""``lookalike search QUERY --db DIR``: images of a collection that look like QUERY."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from lookalike.cli.arguments import positive
from lookalike.cli.output import print_json
from lookalike.errors import require
from lookalike.reports.text import table

if TYPE_CHECKING:
    from lookalike.search.collection import SearchHit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="search a collection by example / 以图搜图",
        description="Rank the images of the collection in DIR by likeness to QUERY (a path "
        "or an http(s) URL): pHash candidates (rotations and mirror images included), "
        "verified by colour, content and ORB keypoints (crops, pasted copies). Indexed "
        "videos are found with the time of their best frame; a video as QUERY finds the "
        "copies of that video.",
    )
    p.add_argument("query", metavar="QUERY", help="image or video path, or http(s) URL")
    p.add_argument("--db", required=True, metavar="DIR", help="collection folder")
    p.add_argument("-k", type=positive, default=20, help="results to show (default 20)")
    p.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="rank by pHash distance only (faster, no crops or pasted copies)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lookalike.search.collection import Collection

    query: str | bytes = args.query
    name = args.query
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", args.query):
        require("httpx", "web")  # URL queries need the web extra; paths do not
        from lookalike.sources.urls import fetch

        name, query = fetch(args.query)
    with Collection(args.db) as coll:
        result = coll.search(query, k=args.k, verify=args.verify)
    result.query = name
    if args.json:
        print_json(result.to_dict())
        return 0
    from lookalike.video.align import clock

    rows = [
        [
            i + 1,
            f"{h.similarity * 100:.1f}%",
            _relation(h),
            h.distance,
            h.method,
            h.verdict,
            (h.path if h.time is None else f"{h.path} @ {clock(h.time)}")
            + (" (mirrored 镜像)" if h.mirrored else ""),
        ]
        for i, h in enumerate(result.results)
    ]
    headers = ["#", "similarity 相似度", "relation 关系", "distance 距离", "method 方法"]
    print(table([*headers, "verdict 结论", "path 路径"], rows))
    segments = [(i, s) for i, h in enumerate(result.results) for s in h.segments or []]
    if segments:  # a video query: where each copy matches it in time
        print("\nsegments 片段 (A: the query 查询, B: the result 结果)")
        for i, seg in segments:
            print(f"#{i + 1}: {seg['text']}")
    return 0


def _relation(hit: SearchHit) -> str:
    """The relation column: how an image hit differs from the query, or which kind of
    video hit it is (a frame of it for a still, a copy for a video query)."""
    if hit.relation is not None:
        return f"{hit.relation.words()} {hit.relation.words('zh')}"
    if hit.video:
        return "video copy 视频副本" if hit.segments else "video frame 视频帧"
    return ""
