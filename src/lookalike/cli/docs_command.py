"""``lookalike docs PATH...``: reused figures in Word/Excel/PowerPoint/PDF files (图片相似度)."""

from __future__ import annotations

import argparse
import sys

from lookalike.cli.arguments import add_jobs, add_model, count, percentage
from lookalike.cli.output import ProgressBar, error, print_json
from lookalike.doccheck.records import (
    DEFAULT_MIN_SIZE,
    DEFAULT_THRESHOLD,
    EXTRACT_FOLDER,
    SCOPES,
    CheckOptions,
    DocumentCheck,
)
from lookalike.errors import LookalikeError, require

#: Errors printed on stderr before "... N more in the workbook".
MAX_ERRORS_SHOWN = 20
_STAGES = {
    "extract": "extracting 提取",
    "rasterize": "EMF/WMF 转换",
    "compare": "comparing 比较",
    "archive": "archive 历史文档",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "docs",
        help="find reused figures in documents / 检查文档中的重复图片",
        description="Extract every picture of Word, Excel, PowerPoint and PDF files, compare "
        "them within each document and across documents, and write a workbook of the "
        "similar pairs. 提取文档中的全部图片，比较文档内和文档间的相似图片，生成 Excel 报告。",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="documents or folders of them")
    p.add_argument(
        "--out", default=".", metavar="DIR",
        help="output folder for the extracted pictures (图片提取/ or extracted/) and the "
        "workbook (default: the current folder) / 输出文件夹（默认：当前文件夹）",
    )  # fmt: skip
    p.add_argument(
        "--threshold", type=percentage, default=DEFAULT_THRESHOLD, metavar="PCT",
        help=f"report pairs at or above this similarity, in %% "
        f"(default {DEFAULT_THRESHOLD * 100:g}) / 相似度阈值",
    )  # fmt: skip
    p.add_argument(
        "--scope", choices=SCOPES, default="both",
        help="compare within each document, across documents, or both (default both)",
    )  # fmt: skip
    p.add_argument(
        "--lang", choices=tuple(EXTRACT_FOLDER), default="zh",
        help="language of the workbook and folder names (default zh)",
    )  # fmt: skip
    p.add_argument(
        "--min-size", type=count, default=DEFAULT_MIN_SIZE, metavar="PX",
        help=f"skip pictures whose short side is below PX pixels: icons, bullets "
        f"(default {DEFAULT_MIN_SIZE}) / 忽略小图",
    )  # fmt: skip
    p.add_argument(
        "--archive", metavar="DIR",
        help="compare with every figure of the documents checked before with this archive, "
        "then add the new ones (a sheet 历史文档 / Earlier documents) / 历史文档库",
    )  # fmt: skip
    p.add_argument(
        "--include-pictures", action="store_true",
        help="compare standalone pictures found in the folders as one pseudo-document "
        '"(folder pictures)" instead of reporting them as not documents / 比较文件夹中的单独图片',
    )  # fmt: skip
    add_jobs(p)
    add_model(p)
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.add_argument(
        "--page", action="store_true",
        help="serve the Documents page on 127.0.0.1 instead (drop documents, see the pairs, "
        "download the workbook) and open it in the browser; Ctrl+C stops it. No PATH "
        "needed. Needs the 'web' extra / 打开网页版",
    )  # fmt: skip
    p.add_argument(
        "--no-browser", action="store_true", help="with --page: print the address, do not open it"
    )
    p.set_defaults(run=run)


def _summary(result: DocumentCheck) -> str:
    """A short bilingual summary for people."""
    s = result.stats
    within = sum(1 for p in result.pairs if p.within)
    across = len(result.pairs) - within
    lines = [
        f"documents 文档: {s['documents']}   images 图片: {s['images']} "
        f"(compared 已比较 {s['compared']}, small skipped 跳过小图 {s['skipped_small']})",
        f"similar pairs 相似图片对: {len(result.pairs)} "
        f"(within a document 文档内 {within}, across documents 跨文档 {across})",
        f"errors 错误: {len(result.errors)}   time 用时: {s['seconds']['total']:.1f} s",
    ]
    if result.archive is not None:
        lines.insert(
            2,
            f"found in earlier documents 历史文档中出现: {len(result.earlier)} "
            f"(archive 历史文档库: {result.archive})",
        )
    if result.workbook:
        lines.append(f"workbook 报告: {result.workbook}")
        root = result.workbook.parent / EXTRACT_FOLDER[result.lang]
        lines.append(f"pictures 图片: {root}")
    return "\n".join(lines)


def _page(open_browser: bool) -> int:
    """Serve the Documents page alone on a free loopback port until Ctrl+C."""
    import secrets

    from lookalike.web.documents import create_documents_app
    from lookalike.web.server import serve_page_on_loopback

    app = create_documents_app(token=secrets.token_urlsafe(24))
    serve_page_on_loopback(app, "documents page", "文档检查页面已启动", open_browser=open_browser)
    return 0


def run(args: argparse.Namespace) -> int:
    from lookalike.doccheck.check import check_documents
    from lookalike.methods import get_method

    if args.page:
        require("uvicorn", "web")
        require("fastapi", "web")
        if args.paths:
            print(
                "lookalike docs: --page takes no PATH: drop the documents on the page",
                file=sys.stderr,
            )
            return 2
        return _page(open_browser=not args.no_browser)
    if not args.paths:
        print("lookalike docs: name at least one PATH (or use --page)", file=sys.stderr)
        return 2

    if args.model is not None:  # a model that does not load stops the run before any work
        try:
            get_method("embed", model=args.model)
        except LookalikeError as exc:
            print(f"lookalike: {exc}", file=sys.stderr)
            return 2
    options = CheckOptions(
        model=args.model,
        out=args.out,
        threshold=args.threshold,
        scope=args.scope,
        lang=args.lang,
        min_size=args.min_size,
        jobs=args.jobs,
        archive=args.archive,
        include_pictures=args.include_pictures,
    )
    with ProgressBar(_STAGES) as bar:
        result = check_documents(args.paths, options, progress=bar)
    for hint in result.missing:
        print(f"lookalike: missing 缺少: {hint}", file=sys.stderr)
    for note in result.stats.get("notes", []):
        print(f"lookalike: {note}", file=sys.stderr)
    for e in result.errors[:MAX_ERRORS_SHOWN]:
        error(e.document, e.reason)
    if len(result.errors) > MAX_ERRORS_SHOWN:
        more = len(result.errors) - MAX_ERRORS_SHOWN
        print(f"lookalike: ... {more} more errors in the workbook 更多错误见报告", file=sys.stderr)
    if args.json:
        print_json(result.to_dict())
    else:
        print(_summary(result))
    return 1 if result.errors else 0
