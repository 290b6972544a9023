"""``lookalike seal A B``: are two seal impressions from the same seal? (印章核验)"""

from __future__ import annotations

import argparse
import sys

from PIL import Image

from lookalike.cli.output import error, print_json
from lookalike.errors import DecodeError, MissingDependencyError
from lookalike.reports.text import table

VERDICT = {True: "same seal 同一印章", False: "different seal 不同印章"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "seal",
        help="verify two seal impressions: same seal or not / 印章核验",
        description="Verify two impressions of a red seal (印章): the same seal or not. "
        "siamese: a small CNN trained on generated seals (needs the 'embed' extra); "
        "baseline: red ink aligned by keypoints and compared by overlap. Each gives a score "
        "in [0, 1] and decides at its equal-error-rate threshold measured on generated "
        "seals. 判断两枚印章印文是否出自同一印章。Trained and measured on synthetic seals "
        "only: not evidence for legal use. 仅用合成印章训练和测试，不可作为法律证据。",
    )
    p.add_argument("a", help="first impression (image path) / 第一枚印文")
    p.add_argument("b", help="second impression (image path) / 第二枚印文")
    p.add_argument(
        "--method",
        "-m",
        choices=("siamese", "baseline", "both"),
        default="siamese",
        help="verifier (default siamese) / 核验方法",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lookalike.decode import load
    from lookalike.seals.ink import has_ink

    images = []
    for path in (args.a, args.b):
        try:
            images.append(load(path, mode="RGB"))
        except DecodeError as exc:
            error(path, exc.reason)
            return 2
        if not has_ink(images[-1]):
            error(path, "no red seal ink found (is it a seal impression?) 未找到红色印章")
            return 2
    methods = ("siamese", "baseline") if args.method == "both" else (args.method,)
    results = []
    for name in methods:
        try:
            value, threshold = _verify(name, images[0], images[1])
        except MissingDependencyError as exc:
            print(f"lookalike: {exc} (or use --method baseline)", file=sys.stderr)
            return 2
        results.append(
            {
                "method": name,
                "score": round(value, 4),
                "threshold": round(threshold, 4),
                "same": value >= threshold,
            }
        )
    if args.json:
        print_json({"a": args.a, "b": args.b, "results": results})
        return 0
    print(f"{args.a}\n{args.b}\n")
    rows = [
        [r["method"], f"{r['score']:.3f}", f"{r['threshold']:.3f}", VERDICT[bool(r["same"])]]
        for r in results
    ]
    print(table(["method 方法", "score 分数", "threshold 阈值", "verdict 结论"], rows))
    if len(results) > 1 and len({r["same"] for r in results}) > 1:
        print("\nthe verifiers disagree 两种方法结论不一致", file=sys.stderr)
    return 0


def _verify(method: str, a: Image.Image, b: Image.Image) -> tuple[float, float]:
    """(score, threshold) of one verifier."""
    if method == "baseline":
        from lookalike.seals import baseline

        return baseline.score(a, b), baseline.THRESHOLD
    from lookalike.seals import siamese

    return siamese.score(a, b), siamese.threshold()
