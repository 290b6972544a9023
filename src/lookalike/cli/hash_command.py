"""``lookalike hash FILE...``: one line per file, the hex hash then the path."""

from __future__ import annotations

import argparse

from lookalike.cli.arguments import add_jobs, bounded
from lookalike.cli.output import ProgressBar, error, print_json
from lookalike.features import extract_features
from lookalike.methods import HASHES, get_method
from lookalike.methods.hashes import codes_to_hashes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "hash",
        help="print perceptual hashes / 计算感知哈希",
        description="Print one line per file: the hex hash, then the path. Unreadable files "
        "are reported on stderr with the reason, and the exit status is 1.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--method", "-m", default="phash", choices=(*HASHES, "content"))
    p.add_argument(
        "--hash-size",
        type=bounded(2, 64),
        default=8,
        help="2 to 64; 8 -> 64 bits, 16 -> 256 bits",
    )
    p.add_argument(
        "--exact",
        action="store_true",
        help="bit-identical to imagehash 4.3 (full decode, no EXIF rotation; slower)",
    )
    add_jobs(p, default=1)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = {} if args.method == "content" else {"hash_size": args.hash_size, "exact": args.exact}
    method = get_method(args.method, **options)
    with ProgressBar({"features": "hashing 哈希"}) as bar:
        fs = extract_features(args.files, [method], jobs=args.jobs, exact=args.exact, progress=bar)
    hashes = dict(
        zip(fs.paths, codes_to_hashes(fs.features[method.name], method.bits), strict=True)
    )
    if args.json:
        print_json(
            {
                "method": method.name,
                "bits": method.bits,
                "hashes": [{"path": p, "hash": str(h)} for p, h in hashes.items()],
                "errors": [f.to_dict() for f in fs.failures],
            }
        )
    else:
        for p, h in hashes.items():
            print(f"{h}  {p}")
        for f in fs.failures:
            error(f.path, f.reason)
    return 1 if fs.failures else 0
