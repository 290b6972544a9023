"""``lookalike cluster PATH...``: near-duplicates collapsed, then PCA and k-means of descriptors."""

from __future__ import annotations

import argparse
import os
import sys

from lookalike.cli.arguments import add_jobs, add_model, positive, with_model
from lookalike.cli.output import ProgressBar, error, print_json
from lookalike.errors import LookalikeError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "cluster",
        help="group a collection into clusters of alike pictures / 图片聚类",
        description="Cluster the images under PATH: duplicates are collapsed first (as "
        "`lookalike dupes` finds them), then the descriptors of the remaining pictures "
        "(embed with --model, else GIST) are reduced by PCA and clustered by k-means, k "
        "chosen by the silhouette. A picture alone in its cluster is noise.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_model(p)
    p.add_argument("--k", type=positive, default=None, metavar="N", help="force N clusters")
    p.add_argument("--seed", type=int, default=0, help="k-means seed (default 0)")
    p.add_argument("--recursive", action=argparse.BooleanOptionalAction, default=True)
    add_jobs(p)
    p.add_argument(
        "--cache",
        default=None,
        metavar="FILE|URI",
        help="feature cache file, or a postgresql:// URI (a catalog shared by many users)",
    )
    p.add_argument("--no-cache", action="store_true", help="use a throw-away cache")
    p.add_argument("--json", action="store_true", help="print {clusters: [...], noise: [...]}")
    p.add_argument("--csv", metavar="FILE", help="write path,cluster,representative rows")
    p.add_argument("--report", metavar="FILE.html", help="write an HTML report with thumbnails")
    p.add_argument("--lang", choices=("en", "zh", "both"), default="both")
    p.set_defaults(run=run)


def _writable(path: str) -> bool:
    folder = os.path.dirname(os.path.abspath(path))
    return os.path.isdir(folder) and not os.path.isdir(path)


def run(args: argparse.Namespace) -> int:
    from lookalike.cluster import cluster_images
    from lookalike.dupes.find import DupesOptions
    from lookalike.reports.clusters import write_cluster_csv, write_cluster_html
    from lookalike.reports.labels import STAGE_LABELS, stage_label

    for flag, path in (("--csv", args.csv), ("--report", args.report)):
        if path and not _writable(path):
            print(f"lookalike: {flag} {path}: cannot write a file there", file=sys.stderr)
            return 2
    try:
        method = with_model([], args.model)
    except LookalikeError as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 2
    options = DupesOptions(
        cache="" if args.no_cache else args.cache, jobs=args.jobs, recursive=args.recursive
    )
    stages = {k: stage_label(k, args.lang) for k in STAGE_LABELS}
    with ProgressBar(stages) as bar:
        report = cluster_images(
            args.paths,
            method=method[0] if method else None,
            k=args.k,
            dupes=options,
            seed=args.seed,
            progress=bar,
        )
    if args.csv:
        write_cluster_csv(report, args.csv)
    if args.report:
        write_cluster_html(report, args.report, lang=args.lang)
    if args.json:
        print_json(report.to_dict())
    else:
        print(
            f"{report.images} images, {report.representatives} after collapsing duplicates; "
            f"descriptor 描述子: {report.descriptor}; k = {report.k}"
            + (
                f" (silhouette {report.silhouettes[report.k]:.3f})"
                if report.k in report.silhouettes
                else ""
            )
        )
        for c in report.clusters:
            print(f"\ncluster 聚类 {c.id} ({len(c.members)})")
            for m in c.members:
                print(f"  {m}")
        if report.noise:
            print(f"\nnoise 噪声 ({len(report.noise)})")
            for m in report.noise:
                print(f"  {m}")
    for f in report.failures:
        error(f.path, f.reason)
    return 1 if report.failures else 0
