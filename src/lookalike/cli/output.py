"""How the CLI prints: JSON for programs, aligned tables and progress bars for people."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any


def print_json(data: Any) -> None:
    """JSON on stdout, UTF-8 as is (Chinese paths stay readable)."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def width(text: str) -> int:
    """Display width: East Asian wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned plain-text table (no dependency; wide characters counted twice)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for k, row in enumerate(cells):
        lines.append(
            "  ".join(c + " " * (widths[i] - width(c)) for i, c in enumerate(row)).rstrip()
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def progress(total: int, desc: str, enabled: bool = True):  # returns a tqdm bar
    """A progress bar on stderr that appears only when the work takes over a second."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="img",
        delay=1.0,
        disable=not enabled,
        file=sys.stderr,
        leave=False,
    )


def error(path: str, reason: str) -> None:
    """One failed input, for people, on stderr."""
    print(f"lookalike: {path}: {reason}", file=sys.stderr)
