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
        help="ONNX model for the embed method: input (N, 3, H, W) float32 RGB normalised "
        "with ImageNet's mean/std, output (N, D); needs pip install 'lookalike[embed]'",
    )


def with_model(names: Sequence[str], model: str | None) -> list[Any]:
    """Method names, with ``embed`` built from ``model`` (added when a model is given);
    ``embed`` without a model is refused with the fix. Raises UsageError (or
    MissingDependencyError) naming the model file and the reason: commands answer it
    with exit status 2 before any work starts."""
    from lookalike.errors import UsageError
    from lookalike.methods import get_method

    rest: list[Any] = [n for n in names if n != "embed"]
    if model is None:
        if len(rest) != len(names):
            raise UsageError("the embed method needs --model PATH (an ONNX file)")
        return rest
    return [*rest, get_method("embed", model=model)]
