"""Excel workbooks: the duplicate report, and the document checker's similar-images workbook.

People filter and sort these in Excel or WPS, so every sheet has a frozen header row and
an autofilter, similarities are real numbers shown as percentages (they sort), and each
row carries thumbnails anchored in its cells (the row height fits them). Strings are
written as text even when they start with "=" (a file name is never run as a formula).
Needs openpyxl.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Sequence
from datetime import date as Date
from typing import Any

from lookalike.decode import ImageSource
from lookalike.doccheck.records import DocumentRow, ErrorRow, ImagePairRow
from lookalike.dupes.records import DuplicateReport
from lookalike.errors import require
from lookalike.reports.export import member_rows
from lookalike.reports.labels import (
    DOCUMENT_SHEETS,
    LEFT_OUT_NOTE,
    check_lang,
    file_name,
    label,
    location_text,
    reason_text,
    relation,
)
from lookalike.reports.thumbnails import Thumbnail, make_thumbnails

#: Longest side of the thumbnails in a row, in pixels.
THUMB_SIDE = 96
_PAD = 4  # pixels around a thumbnail inside its cell
_HEADER_FILL = "E8EEF4"
_BAND_FILL = "F5F7FA"
_KEEP_FILL = "DAFBE1"


#: Rows per sheet of the document workbook (Excel stops at 1,048,576); the pairs past it
#: are left out and a note under the table says how many.
MAX_WORKBOOK_ROWS = 100_000
#: Thumbnails are drawn for the first this many pair rows (each is a picture object).
MAX_THUMBNAIL_ROWS = 5_000
_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean(value: object) -> object:
    """A string with surrogate-escaped bytes (undecodable names) made valid for XML."""
    if isinstance(value, str) and _SURROGATES.search(value):
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            return _SURROGATES.sub("\ufffd", value)
    return value


def _note(ws: Any, row: int, text: str) -> None:
    """A bold red note in column A of ``row`` (under a table, outside its autofilter)."""
    from openpyxl.styles import Font

    _put(ws, row, 1, text).font = Font(bold=True, color="C0392B")


def document_workbook_name(date: Date | None = None, lang: str = "zh") -> str:
    """The default file name: ``图片相似度YYYYMMDD.xlsx`` or ``image-similarity-YYYYMMDD.xlsx``."""
    check_lang(lang, ("zh", "en"))
    stamp = (date or Date.today()).strftime("%Y%m%d")
    return f"图片相似度{stamp}.xlsx" if lang == "zh" else f"image-similarity-{stamp}.xlsx"


def _text(value: object) -> object:
    """Cell-safe value: strings lose the control characters XML cannot hold."""
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def _put(ws: Any, row: int, col: int, value: object, fmt: str | None = None) -> Any:
    """Write one cell; a string stays a string even if it looks like a formula."""
    cell = ws.cell(row=row, column=col, value=_text(value))
    if isinstance(value, str):
        cell.data_type = "s"
    if fmt:
        cell.number_format = fmt
    return cell


def _header(ws: Any, headers: Sequence[str], widths: Sequence[float]) -> None:
    """Bold filled header row, column widths, header frozen."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    fill = PatternFill("solid", fgColor=_HEADER_FILL)
    border = Border(bottom=Side(style="thin", color="9AA5B1"))
    for col, (text, w) in enumerate(zip(headers, widths, strict=True), 1):
        cell = _put(ws, 1, col, text)
        cell.font, cell.fill, cell.border = Font(bold=True), fill, border
        cell.alignment = Alignment(vertical="center")
        ws.column_dimensions[get_column_letter(col)].width = w
    ws.row_dimensions[1].height = 20
    ws.freeze_panes = "A2"


def _finish(ws: Any, ncols: int) -> None:
    """Autofilter over the header and every row."""
    from openpyxl.utils import get_column_letter

    ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{max(1, ws.max_row)}"


def _thumb_col_width(side: int) -> float:
    """Excel column width (characters) that holds ``side`` pixels plus padding."""
    return round((side + 2 * _PAD + 2) / 7 + 0.5, 1)


def _place(ws: Any, thumb: Thumbnail, row: int, col: int, side: int) -> None:
    """Anchor ``thumb`` in the cell (row, col), centred in a column sized for ``side``."""
    from openpyxl.drawing.image import Image as XLImage
    from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, OneCellAnchor
    from openpyxl.drawing.xdr import XDRPositiveSize2D
    from openpyxl.utils.units import pixels_to_EMU

    img = XLImage(io.BytesIO(thumb.data))
    img.width, img.height = thumb.width, thumb.height
    x = _PAD + (side - thumb.width) // 2
    y = _PAD + (side - thumb.height) // 2
    marker = AnchorMarker(
        col=col - 1, colOff=pixels_to_EMU(x), row=row - 1, rowOff=pixels_to_EMU(y)
    )
    size = XDRPositiveSize2D(pixels_to_EMU(thumb.width), pixels_to_EMU(thumb.height))
    img.anchor = OneCellAnchor(_from=marker, ext=size)
    ws.add_image(img)


def _row_height(side: int) -> float:
    """Row height in points for a row holding thumbnails of ``side`` pixels."""
    return (side + 2 * _PAD) * 0.75


def _workbook() -> Any:
    openpyxl = require("openpyxl", "docs")
    return openpyxl.Workbook()


def write_xlsx(
    report: DuplicateReport,
    path: str | os.PathLike[str],
    *,
    lang: str = "both",
    thumb_side: int = THUMB_SIDE,
) -> None:
    """Write the duplicate report as an Excel workbook: one row per member, then errors.

    Sheet 1: group, thumbnail (anchored in the row), file name, path, keep (yes/no),
    similarity (a percentage cell), method, width, height, bytes, the keeper's reason; the
    keeper comes first in its group and groups are banded. Sheet 2: every error (path,
    reason). Both have a frozen header and an autofilter. ``lang``: "en", "zh" or "both".
    """
    from openpyxl.styles import Alignment, Font, PatternFill

    check_lang(lang)
    wb = _workbook()
    ws = wb.active
    ws.title = {"en": "Duplicates", "zh": "重复图片"}.get(lang, "Duplicates 重复图片")
    keys = [
        "group",
        "thumbnail",
        "name",
        "path",
        "keep",
        "similarity",
        "method",
        "width",
        "height",
        "bytes",
        "reason",
    ]
    widths = [9, _thumb_col_width(thumb_side), 24, 60, 9, 12, 11, 9, 9, 12, 30]
    _header(ws, [label(k, lang) for k in keys], widths)

    members = member_rows(report)
    thumbs = make_thumbnails([r.member.path for r in members], thumb_side)
    band = PatternFill("solid", fgColor=_BAND_FILL)
    keep_fill = PatternFill("solid", fgColor=_KEEP_FILL)
    middle = Alignment(vertical="center")
    wrap = Alignment(vertical="center", wrap_text=True)
    for row, ((n, group, m, _, keeper), thumb) in enumerate(zip(members, thumbs, strict=True), 2):
        values: list[tuple[object, str | None]] = [
            (n, None),
            (None, None),
            (file_name(m.path), None),
            (m.path, None),
            (label("yes" if keeper else "no", lang), None),
            (m.similarity, "0.0%"),
            (m.method, None),
            (m.width or None, "0"),
            (m.height or None, "0"),
            (m.bytes or None, "#,##0"),
            (group.reason if keeper else None, None),
        ]
        for col, (value, fmt) in enumerate(values, 1):
            cell = _put(ws, row, col, value, fmt)
            cell.alignment = wrap if col in (3, 4, 11) else middle
            if n % 2 == 0:
                cell.fill = band
        if keeper:
            ws.cell(row=row, column=5).fill = keep_fill
            ws.cell(row=row, column=5).font = Font(bold=True, color="1A7F37")
            ws.cell(row=row, column=3).font = Font(bold=True)
        if thumb:
            _place(ws, thumb, row, 2, thumb_side)
        ws.row_dimensions[row].height = _row_height(thumb_side)
    _finish(ws, len(keys))

    errors = wb.create_sheet({"en": "Errors", "zh": "错误"}.get(lang, "Errors 错误"))
    _header(errors, [label("path", lang), label("reason", lang)], [80, 60])
    for row, e in enumerate(report.errors, 2):
        _put(errors, row, 1, e.path)
        _put(errors, row, 2, e.reason)
    _finish(errors, 2)
    wb.save(os.fspath(path))


def _thumb_key(source: bytes | str | os.PathLike[str] | None) -> object:
    """A dictionary key for a thumbnail source (bytes by content, paths by name)."""
    if source is None:
        return None
    if isinstance(source, bytes | bytearray | memoryview):
        return hashlib.sha1(bytes(source)).digest()
    return os.fspath(source)


def write_document_workbook(
    rows: Sequence[ImagePairRow],
    documents: Sequence[DocumentRow],
    errors: Sequence[ErrorRow],
    path: str | os.PathLike[str],
    *,
    lang: str = "zh",
    thumb_side: int = THUMB_SIDE,
    max_rows: int | None = None,
    earlier: Sequence[ImagePairRow] | None = None,
) -> int:
    """Write the document checker's workbook (the 图片相似度分析工具 layout).

    Sheet 1 (图片相似度 / Similar images): document 1, image 1, location 1, document 2,
    image 2, location 2, similarity (a percentage), relation in words ("same picture
    placed twice", "identical copy", "copy", "partial copy"...), method, then both
    thumbnails; sorted by similarity, highest first. With ``earlier`` (an archive was
    used), a sheet 历史文档 / Earlier documents: the same columns for new pictures like
    figures of documents checked before, with the date each was checked after document 2.
    Then 文档 / Documents: every document, its image count, small images skipped and
    status; 错误 / Errors: every error (in Chinese, the fixed phrases translated).
    Locations read in ``lang``. Each sheet holds at most ``max_rows`` rows (default
    MAX_WORKBOOK_ROWS; the most similar pairs are kept), with a note under the table
    saying how many were left out; thumbnails are drawn for the first MAX_THUMBNAIL_ROWS
    pairs. Returns the number of pairs left out of sheet 1.
    """
    check_lang(lang, ("zh", "en"))
    names = DOCUMENT_SHEETS[lang]
    wb = _workbook()
    ws = wb.active
    ws.title = names["pairs"]
    max_rows = MAX_WORKBOOK_ROWS if max_rows is None else max_rows
    left_out = _pair_sheet(ws, rows, lang, thumb_side, max_rows, checked=False)
    if earlier is not None:
        _pair_sheet(wb.create_sheet(names["earlier"]), earlier, lang, thumb_side, max_rows, True)

    docs = wb.create_sheet(names["documents"])
    _header(docs, names["document_headers"], [48, 10, 12, 24])
    for row, d in enumerate(documents[:max_rows], 2):
        for col, value in enumerate((d.document, d.images, d.skipped_small, d.status), 1):
            _put(docs, row, col, _clean(value))
    _finish(docs, 4)
    if len(documents) > max_rows:
        left = len(documents) - max_rows
        _note(docs, max_rows + 3, LEFT_OUT_NOTE[lang].format(shown=max_rows, left=left))

    errs = wb.create_sheet(names["errors"])
    _header(errs, names["error_headers"], [48, 80])
    for row, e in enumerate(errors[:max_rows], 2):
        _put(errs, row, 1, _clean(e.document))
        _put(errs, row, 2, _clean(reason_text(e.reason, lang)))
    _finish(errs, 2)
    if len(errors) > max_rows:
        left = len(errors) - max_rows
        _note(errs, max_rows + 3, LEFT_OUT_NOTE[lang].format(shown=max_rows, left=left))
    wb.save(os.fspath(path))
    return left_out


def _pair_sheet(
    ws: Any,
    rows: Sequence[ImagePairRow],
    lang: str,
    thumb_side: int,
    max_rows: int,
    checked: bool,
) -> int:
    """Fill one sheet of picture pairs (see write_document_workbook); returns the rows left
    out. ``checked``: add the date document 2 was checked (the earlier-documents sheet)."""
    from openpyxl.styles import Alignment

    names = DOCUMENT_SHEETS[lang]
    headers: list[str] = list(names["pair_headers"])
    thumb_w = _thumb_col_width(thumb_side)
    widths: list[float] = [30, 20, 22, 30, 20, 22, 12, 16, 10, thumb_w, thumb_w]
    if checked:
        headers.insert(4, names["checked_header"])
        widths.insert(4, 12)
    _header(ws, headers, widths)

    ordered = sorted(rows, key=lambda r: r.similarity, reverse=True)
    left_out = max(0, len(ordered) - max_rows)
    del ordered[max_rows:]
    thumbed = ordered[:MAX_THUMBNAIL_ROWS]
    keys = [_thumb_key(s) for r in thumbed for s in (r.thumb1, r.thumb2)]
    unique: dict[object, ImageSource | None] = {}
    for r in thumbed:
        for s in (r.thumb1, r.thumb2):
            k = _thumb_key(s)
            if k is not None and k not in unique:
                unique[k] = bytes(s) if isinstance(s, bytearray | memoryview) else s
    made = make_thumbnails(list(unique.values()), thumb_side)
    thumb_of = dict(zip(unique, made, strict=True))

    middle = Alignment(vertical="center", wrap_text=True)
    for row, r in enumerate(ordered, 2):
        values: list[tuple[object, str | None]] = [
            (r.document, None),
            (r.image1, None),
            (location_text(r.location1, lang), None),
            (r.document2 or r.document, None),
        ]
        if checked:
            values.append((r.checked2, None))
        values += [
            (r.image2, None),
            (location_text(r.location2, lang), None),
            (r.similarity, "0.00%"),
            (relation(r.method, lang, r.relation), None),
            (r.method, None),
        ]
        for col, (value, fmt) in enumerate(values, 1):
            cell = _put(ws, row, col, _clean(value), fmt)
            cell.alignment = middle
        if row - 2 >= len(thumbed):
            continue
        t1, t2 = (thumb_of.get(k) for k in keys[2 * (row - 2) : 2 * (row - 1)])
        first_thumb_col = len(values) + 1
        for offset, thumb in enumerate((t1, t2)):
            if thumb:
                _place(ws, thumb, row, first_thumb_col + offset, thumb_side)
        ws.row_dimensions[row].height = _row_height(thumb_side)
    _finish(ws, len(headers))
    if left_out:
        note = LEFT_OUT_NOTE[lang].format(shown=len(ordered), left=left_out)
        if len(thumbed) < len(ordered):
            note += {
                "zh": f"；缩略图仅前 {len(thumbed)} 行",
                "en": f"; thumbnails for the first {len(thumbed)}",
            }[lang]
        _note(ws, len(ordered) + 3, note)
    return left_out
