"""Reports as plain text for the terminal: aligned tables that stay aligned with Chinese."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from lookalike.dupes.records import DuplicateReport
from lookalike.reports.export import member_rows, report_totals
from lookalike.reports.labels import check_lang, human_size, label, percent

__all__ = ["format_table", "table", "width"]


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


def format_table(report: DuplicateReport, *, lang: str = "both") -> str:
    """The report for the terminal: groups one after another, keeper first, then errors.

    Columns stay aligned with Chinese paths (wide characters count as two columns).
    """
    check_lang(lang)
    headers = [
        label(k, lang)
        for k in ("group", "keep", "similarity", "method", "dimensions", "size", "path", "reason")
    ]
    rows = []
    for n, group, m, first, keeper in member_rows(report):
        rows.append(
            [
                n if first else "",
                label("keep", lang) if keeper else "",
                percent(m.similarity),
                m.method,
                f"{m.width}x{m.height}" if m.width and m.height else "-",
                human_size(m.bytes) if m.bytes else "-",
                m.path,
                group.reason if keeper else "",
            ]
        )
    t = report_totals(report)
    summary = "  ".join(
        f"{label(k, lang)}: {human_size(t[k]) if k == 'reclaim' else t[k]}"
        for k in ("scanned", "groups", "copies", "reclaim", "errors")
    )
    parts = [table(headers, rows) if rows else label("no_groups", lang), "", summary]
    if report.errors:
        parts += [
            "",
            table(
                [label("path", lang), label("reason", lang)],
                [[e.path, e.reason] for e in report.errors],
            ),
        ]
    return "\n".join(parts)
