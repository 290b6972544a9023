"""The ``lookalike`` command: one entry point, one module per sub-command.

Each sub-command module exposes ``register(subparsers)`` (its arguments) and
``run(args) -> int`` (a thin layer over library calls). Exit status: 0 success,
1 some inputs failed (the rest was done), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from lookalike import __version__
from lookalike.errors import LookalikeError

#: Sub-command modules, in the order `lookalike --help` lists them.
COMMANDS = (
    "compare",
    "hash",
    "dupes",
    "cluster",
    "train",
    "apply",
    "undo",
    "mark",
    "docs",
    "eval",
    "serve",
    "index",
    "search",
    "migrate",
    "videos",
    "seal",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every sub-command registered)."""
    parser = argparse.ArgumentParser(
        prog="lookalike",
        description="Find images that look alike. 查找相似图片。",
    )
    parser.add_argument("--version", action="version", version=f"lookalike {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"lookalike.cli.{name}_command")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("lookalike: interrupted", file=sys.stderr)
        return 130
    except LookalikeError as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file or folder the command could not use: no traceback
        where = exc.filename if exc.filename is not None else args.command
        print(f"lookalike: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 1


def entry() -> None:
    """The ``lookalike`` program: :func:`main`, then exit with its status.

    After Ctrl+C the process ends at once (``os._exit``) once the message is out and every
    ``finally`` has run: the interpreter's own shutdown would join the worker pool's
    feeder and manager threads, which can wait forever on workers that are already gone.
    """
    code = main()
    if code == 130:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(130)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
