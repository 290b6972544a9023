"""Duplicate reports as files: the rows every format shares, CSV, JSON, and the dispatcher
that picks the writer from the file suffix (HTML and xlsx have their own modules)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

from lookalike.dupes.records import DuplicateReport, Group, Member
from lookalike.errors import LookalikeError


def ordered_members(group: Group) -> list[Member]:
    """The group's members with the keeper first, the others as the search ordered them."""
    keepers = [m for m in group.members if m.path == group.keep]
    return keepers[:1] + [m for m in group.members if m not in keepers[:1]]


def report_totals(report: DuplicateReport) -> dict[str, int]:
    """The summary numbers: scanned, groups, pairs, removable copies, bytes reclaimable
    (a copy that holds its keeper and more is not removable: :attr:`Member.holds_more`)."""
    copies = [m for g in report.groups for m in ordered_members(g)[1:] if not m.holds_more]
    return {
        "scanned": report.scanned,
        "groups": len(report.groups),
        "pairs": len(report.pairs),
        "copies": len(copies),
        "reclaim": sum(m.bytes for m in copies),
        "errors": len(report.errors),
    }


class MemberRow(NamedTuple):
    """One member in report order: its group's number (from 1) and place, keeper or not."""

    number: int
    group: Group
    member: Member
    first: bool
    keeper: bool


def member_rows(report: DuplicateReport) -> list[MemberRow]:
    """Every member of every group in report order, each group's keeper first."""
    rows = []
    for n, group in enumerate(report.groups, 1):
        for k, m in enumerate(ordered_members(group)):
            rows.append(MemberRow(n, group, m, k == 0, k == 0 and m.path == group.keep))
    return rows


CSV_COLUMNS = (
    "group",
    "status",
    "path",
    "similarity",
    "method",
    "width",
    "height",
    "bytes",
    "reason",
    "relation",
)


def write_csv(report: DuplicateReport, path: str | os.PathLike[str]) -> None:
    """Write one row per group member, then one per error, as CSV in UTF-8 *with a BOM*.

    The BOM is there so Excel (which otherwise guesses the ANSI code page) opens Chinese
    and other non-ASCII paths correctly; Python reads it back with ``encoding="utf-8-sig"``.
    Columns: group (from 1), status (keep / duplicate / error), path, similarity (0..1),
    method, width, height, bytes, reason (the keeper's reason or the error's), relation (to
    the keeper, in English). Values are
    written as they are: a path that starts with "=" stays text only in tools that treat
    CSV cells as text.
    """
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for n, group, m, _, keeper in member_rows(report):
            w.writerow(
                [
                    n,
                    "keep" if keeper else "duplicate",
                    m.path,
                    f"{m.similarity:.4f}",
                    m.method,
                    m.width or "",
                    m.height or "",
                    m.bytes or "",
                    group.reason if keeper else "",
                    m.relation.words("en") if m.relation else "",
                ]
            )
        for e in report.errors:
            w.writerow(["", "error", e.path, "", "", "", "", "", e.reason, ""])


def write_json(report: DuplicateReport, path: str | os.PathLike[str]) -> None:
    """Write ``report.to_dict()`` as UTF-8 JSON (Chinese paths kept readable)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report.to_dict(), f, ensure_ascii=False, indent=2)
        f.write("\n")


REPORT_SUFFIXES = (".html", ".htm", ".xlsx", ".csv", ".json")


def check_report_path(path: str | os.PathLike[str]) -> None:
    """Refuse, before any work, a report that could not be written: an unknown suffix, a
    folder that does not exist or cannot be written, a name that is a folder.

    Raises LookalikeError naming the file and saying how to fix it.
    """
    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise LookalikeError(
            name,
            f"unknown report type {suffix or '(no suffix)'!r}: "
            "use a file name ending in .html, .xlsx, .csv or .json",
        )
    folder = os.path.dirname(os.path.abspath(name))
    if not os.path.isdir(folder):
        raise LookalikeError(name, f"the folder {folder} does not exist: create it first")
    if os.path.isdir(name):
        raise LookalikeError(name, "is a folder: give a file name for the report")
    if not os.access(folder, os.W_OK):
        raise LookalikeError(name, f"the folder {folder} is not writable")


def write_report(
    report: DuplicateReport, path: str | os.PathLike[str], *, lang: str = "both"
) -> None:
    """Write ``report`` in the format its file suffix names: .html, .xlsx, .csv or .json.

    Any other suffix raises a :class:`LookalikeError` that lists the supported ones, before
    anything is written. ``lang`` picks the labels of the HTML and xlsx reports.
    """
    check_report_path(path)
    suffix = Path(path).suffix.lower()
    target = os.path.abspath(os.fspath(path))
    # Written beside the target under a temporary name, then moved into place: an
    # interrupted run leaves the old report or none, never half of one.
    fd, tmp = tempfile.mkstemp(prefix=".lookalike-", suffix=suffix, dir=os.path.dirname(target))
    os.close(fd)
    try:
        _write(report, tmp, suffix, lang)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would have made it
        os.replace(tmp, target)
    except OSError as exc:
        raise LookalikeError(
            os.fspath(path), f"cannot write the report: {exc.strerror or exc}"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _write(report: DuplicateReport, path: str | os.PathLike[str], suffix: str, lang: str) -> None:
    if suffix in (".html", ".htm"):
        from lookalike.reports.html import write_html

        write_html(report, path, lang=lang)
    elif suffix == ".xlsx":
        from lookalike.reports.xlsx import write_xlsx

        write_xlsx(report, path, lang=lang)
    elif suffix == ".csv":
        write_csv(report, path)
    else:  # ".json": check_report_path admitted nothing else
        write_json(report, path)
