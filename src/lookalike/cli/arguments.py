"""Argument types and options that several sub-commands share, validated at the boundary."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any


def percentage(text: str) -> float:
    """'85', '85%' or '0.85' -> 0.85; anything outside (0, 100] % is refused."""
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    value = value / 100 if value > 1 else value
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"threshold must be in (0, 100]%, got {text}")
    return value


def count(text: str) -> int:
    """A whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def positive(text: str) -> int:
    """A whole number >= 1."""
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def bounded(low: int, high: int) -> Callable[[str], int]:
    """An argument type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low} to {high}, got {text}")
        return value

    return parse


def add_jobs(parser: argparse.ArgumentParser, default: int = 0) -> None:
    """``--jobs N``: worker processes, 0 = one per CPU."""
    parser.add_argument(
        "--jobs",
        "-j",
        type=count,
        default=default,
        help=f"worker processes (0 = all CPUs; default {default})",
    )


def add_milvus_uri(parser: argparse.ArgumentParser) -> None:
    """``--milvus-uri URI``: where a Milvus backend lives."""
    parser.add_argument(
        "--milvus-uri",
        default=None,
        metavar="URI",
        help="Milvus server URI or Milvus Lite file (default DIR/milvus.db); "
        "token from $LOOKALIKE_MILVUS_TOKEN",
    )


def add_engine(parser: argparse.ArgumentParser) -> None:
    """``--engine local|ray`` and ``--address ADDR``: where decoding and verification run."""
    from lookalike.engines import ENGINES

    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="where images are decoded and pairs verified: local worker processes "
        "(default) or a Ray cluster (needs the 'ray' extra)",
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="with --engine ray: the cluster (auto, ray://HOST:10001, HOST:6379); "
        "default: start Ray on this machine with --jobs CPUs",
    )


def engine_problem(args: argparse.Namespace) -> str | None:
    """Why ``--engine`` / ``--address`` cannot work (before any scan), or None."""
    from lookalike.errors import LookalikeError, require

    if args.address and args.engine != "ray":
        return "--address names a Ray cluster: add --engine ray"
    if args.engine == "ray":
        try:
            require("ray", "ray")
        except LookalikeError as exc:
            return f"--engine ray: {exc}"
    return None


def add_postgres_uri(parser: argparse.ArgumentParser) -> None:
    """``--postgres-uri URI``: the PostgreSQL server of a postgres backend."""
    parser.add_argument(
        "--postgres-uri",
        default=os.environ.get("LOOKALIKE_POSTGRES_URI"),
        metavar="URI",
        help="PostgreSQL server with pgvector, postgresql://user@host:5432/db (default "
        "$LOOKALIKE_POSTGRES_URI); password from $PGPASSWORD or ~/.pgpass",
    )


def add_model(parser: argparse.ArgumentParser) -> None:
    """``--model PATH``: an ONNX model for the ``embed`` method (lookalike.methods.embed)."""
    parser.add_argument(
        "--model",
        metavar="PATH",
        default=None,
        help="ONNX model for the embed method ('default': the shipped copy-detection "
        "model): input (N, 3, H, W) float32 RGB normalised with ImageNet's mean/std, output "
        "(N, D); needs pip install 'lookalike[embed]'",
    )


def with_model(names: Sequence[str], model: str | None) -> list[Any]:
    """Method names, with ``embed`` built from ``model`` (added when a model is given);
    ``embed`` named without a model runs the shipped one. Raises UsageError (or
    MissingDependencyError) naming the model file and the reason: commands answer it
    with exit status 2 before any work starts."""
    from lookalike.methods import get_method

    rest: list[Any] = [n for n in names if n != "embed"]
    if model is None:
        if len(rest) != len(names):
            return [*rest, get_method("embed")]
        return rest
    return [*rest, get_method("embed", model=model)]


def add_actions(
    parser: argparse.ArgumentParser, *, review_help: str, plan_help: str, keep_in_help: str
) -> None:
    """The clean-up options ``dupes`` and ``videos`` share: ``--move-to``, ``--trash``,
    ``--delete``, ``--yes``, ``--dry-run``, ``--review``, ``--no-browser``, ``--plan``,
    ``--journal`` and ``--keep-in`` (checked by :func:`action_problem`)."""
    parser.add_argument("--move-to", metavar="DIR", help="move every copy but the keeper into DIR")
    parser.add_argument("--trash", action="store_true", help="move every copy to the desktop trash")
    parser.add_argument("--delete", action="store_true", help="delete every copy but the keeper")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before deleting")
    parser.add_argument("--dry-run", action="store_true", help="say what would be moved or deleted")
    parser.add_argument("--review", action="store_true", help=review_help)
    parser.add_argument(
        "--no-browser", action="store_true", help="with --review: print the address, do not open it"
    )
    parser.add_argument("--plan", metavar="PLAN.json", help=plan_help)
    parser.add_argument(
        "--journal", metavar="FILE", help="journal of the actions (default: the cache folder)"
    )
    parser.add_argument("--keep-in", action="append", default=[], metavar="DIR", help=keep_in_help)


def action_problem(
    args: argparse.Namespace, *, review_excludes: Sequence[str] = ("move_to", "trash", "delete")
) -> str | None:
    """Why the options of :func:`add_actions` cannot work (before any scan), or None:
    two actions at once, --review beside one of ``review_excludes`` or without the web
    extra, a --keep-in that is no folder, a --plan or --journal that cannot be written, a
    --move-to inside the scanned paths."""
    from lookalike.dupes.actions import check_destination
    from lookalike.errors import LookalikeError, require

    if len([f for f in ("move_to", "trash", "delete") if getattr(args, f)]) > 1:
        return "choose one of --move-to, --trash and --delete"
    if args.review:
        if any(getattr(args, f) for f in review_excludes):
            flags = " / ".join("--" + f.replace("_", "-") for f in review_excludes)
            return f"--review acts from the page: drop {flags}"
        try:
            require("uvicorn", "web")
            require("fastapi", "web")
        except LookalikeError as exc:
            return str(exc)
    for d in args.keep_in:
        if not os.path.isdir(d):
            return f"--keep-in {d}: not a folder"
    if args.plan and (
        os.path.isdir(args.plan) or not os.path.isdir(os.path.dirname(os.path.abspath(args.plan)))
    ):
        return f"--plan {args.plan}: cannot write a file there"
    if args.journal and os.path.isdir(args.journal):
        return f"--journal {args.journal}: the journal must be a file"
    if args.move_to:
        try:
            check_destination(args.move_to, args.paths)
        except LookalikeError as exc:
            return str(exc)
    return None
