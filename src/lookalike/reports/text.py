"""Reports as plain text for the terminal: aligned tables that stay aligned with Chinese."""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Sequence
from typing import Any

from lookalike.dupes.records import DuplicateReport
from lookalike.reports.export import member_rows, report_totals
from lookalike.reports.labels import (
    check_lang,
    error_text,
    human_size,
    keeper_reason,
    label,
    method_label,
    percent,
    relation_label,
)

__all__ = ["format_table", "shorten", "table", "width"]


def width(text: str) -> int:
    """Display width: East Asian wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def shorten(text: str, columns: int) -> str:
    """``text`` in at most ``columns`` display columns, cut in the middle with "…"."""
    if width(text) <= columns:
        return text
    if columns <= 1:
        return "…"[:columns]
    head: list[str] = []
    tail: list[str] = []
    room = columns - 1
    left, right = 0, len(text) - 1
    take_head = True
    while left <= right:
        c = text[left] if take_head else text[right]
        w = width(c)
        if w > room:
            break
        room -= w
        if take_head:
            head.append(c)
            left += 1
        else:
            tail.append(c)
            right -= 1
        take_head = not take_head
    return "".join(head) + "…" + "".join(reversed(tail))


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    max_width: int | None = None,
    shrink: int | None = None,
) -> str:
    """An aligned plain-text table (no dependency; wide characters counted twice).

    With ``max_width``, column ``shrink`` (default the widest) is shortened in the middle
    (:func:`shorten`) until the lines fit, down to 12 columns.
    """
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    if max_width is not None and widths:
        col = shrink if shrink is not None else widths.index(max(widths))
        total = sum(widths) + 2 * (len(widths) - 1)
        if total > max_width:
            widths[col] = max(12, widths[col] - (total - max_width))
            for row in cells:
                row[col] = shorten(row[col], widths[col])
    lines = []
    for k, row in enumerate(cells):
        lines.append(
            "  ".join(c + " " * (widths[i] - width(c)) for i, c in enumerate(row)).rstrip()
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_table(report: DuplicateReport, *, lang: str = "both", columns: int | None = None) -> str:
    """The report for the terminal: groups one after another, keeper first, then errors.

    Columns stay aligned with Chinese paths (wide characters count as two columns); the
    table fits ``columns`` (default the terminal's width): long paths are shortened in the
    middle with "…" (``--json`` and the report files keep them whole).
    """
    check_lang(lang)
    if columns is None:
        columns = shutil.get_terminal_size((120, 24)).columns
    headers = [
        label(k, lang)
        for k in (
            "group",
            "keep",
            "similarity",
            "relation",
            "method",
            "dimensions",
            "size",
            "path",
            "reason",
        )
    ]
    rows = []
    for n, group, m, first, keeper in member_rows(report):
        rows.append(
            [
                n if first else "",
                label("keep", lang) if keeper else "",
                percent(m.similarity),
                relation_label(m.relation, lang),
                method_label(m.method, lang),
                f"{m.width}x{m.height}" if m.width and m.height else "-",
                human_size(m.bytes) if m.bytes else "-",
                m.path,
                (
                    keeper_reason(group.reason_key, lang, **group.reason_args)
                    if keeper and group.reason_key
                    else group.reason
                    if keeper
                    else ""
                ),
            ]
        )
    t = report_totals(report)
    summary = "  ".join(
        f"{label(k, lang)}: {human_size(t[k]) if k == 'reclaim' else t[k]}"
        for k in ("scanned", "groups", "copies", "reclaim", "errors")
    )
    shown = table(headers, rows, max_width=columns, shrink=6) if rows else label("no_groups", lang)
    parts = [shown, "", summary]
    if report.errors:
        parts += [
            "",
            table(
                [label("path", lang), label("reason", lang)],
                [[e.path, error_text(e.reason, lang)] for e in report.errors],
                max_width=columns,
                shrink=0,
            ),
        ]
    return "\n".join(parts)
