"""Pictures of PDF files, via pypdfium2 (BSD/Apache; PyMuPDF would be AGPL).

JPEG and JPEG 2000 image objects are returned exactly as stored; other encodings
(Flate, CCITT, JBIG2, ...) have no file format of their own, so pdfium decodes them and
they are written as PNG. Password-protected files get the error
``"encrypted (password protected)"``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from lookalike.errors import UsageError, require
from lookalike.formats import sniff_picture

from . import (
    ENCRYPTED,
    Budget,
    DocumentImages,
    ExtractedImage,
)

#: Pages past this are not examined (a warning says so).
MAX_PAGES = 5_000
#: Image objects larger than this many pixels are not decoded (raw JPEGs are still taken).
MAX_DECODE_PIXELS = 100_000_000
#: Form XObjects nest; pdfium walks them up to this depth.
MAX_FORM_DEPTH = 8


def extract_pdf(path: Path, result: DocumentImages, budget: Budget) -> None:
    """Fill ``result`` with every image object of the PDF at ``path``, page by page."""
    pdfium = require("pypdfium2", "docs")
    raw = require("pypdfium2.raw", "docs")
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if (
            getattr(exc, "err_code", None) == raw.FPDF_ERR_PASSWORD
            or "password" in str(exc).lower()
        ):
            result.error = ENCRYPTED
        else:
            result.error = f"corrupt PDF: {exc}"[:300]
        return
    try:
        pages = len(pdf)
        if pages > MAX_PAGES:
            result.warnings.append(f"{pages} pages: only the first {MAX_PAGES} examined")
        total = min(pages, MAX_PAGES)
        for index in range(total):
            if budget.expired():
                result.warnings.append(budget.ran_out(index, total, "pages"))
                break
            try:
                page = pdf[index]
            except Exception as exc:
                result.warnings.append(f"page {index + 1}: unreadable ({exc})"[:200])
                continue
            try:
                stopped = _page_images(page, index + 1, result, budget, raw)
            finally:
                page.close()
            if stopped:
                left = total - index - 1
                result.warnings.append(f"{stopped}; {left} later pages not read")
                break
    finally:
        pdf.close()


def _page_images(
    page: Any, number: int, result: DocumentImages, budget: Budget, raw: Any
) -> str | None:
    """Add the image objects of one page; returns why it stopped early (None: it did not)."""
    count = 0
    objects = page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=MAX_FORM_DEPTH)
    for obj in objects:
        where = f"page {number}"
        if budget.expired():
            return budget.ran_out(count, None, "image objects", f"on {where}")
        if len(result.images) >= budget.max_images:
            left = 1 + sum(1 for _ in objects)
            return (
                f"picture limit of {budget.max_images} per document reached on {where}: "
                f"{left} image objects of the page skipped"
            )
        count += 1
        try:
            data, fmt = _image_bytes(obj)
        except Exception as exc:
            result.warnings.append(
                f"{where} image {count}: unreadable ({type(exc).__name__}: {exc})"[:200]
            )
            continue
        if not data or fmt is None:
            result.warnings.append(f"{where} image {count}: no image data")
            continue
        refused = budget.refuse(result, len(data))
        if refused:
            return f"{refused} on {where}"
        ext = {"jpeg": "jpg"}.get(fmt, fmt)
        result.images.append(
            ExtractedImage(
                name=f"page{number}_img{count}.{ext}", data=data, format=fmt, location=where
            )
        )
    return None


def _image_bytes(obj: Any) -> tuple[bytes, str | None]:
    """The stored bytes of a JPEG/JPEG 2000 image object, else the decoded pixels as PNG."""
    filters = obj.get_filters()
    if (
        filters
        and filters[-1] in ("DCTDecode", "JPXDecode")
        and all(f in ("DCTDecode", "JPXDecode") for f in filters)
    ):
        data = bytes(obj.get_data(decode_simple=False))
        fmt = sniff_picture(data)
        if fmt in ("jpeg", "jp2", "j2k"):
            return data, fmt
    width, height = obj.get_px_size()
    if width * height > MAX_DECODE_PIXELS:
        raise UsageError(f"{width}x{height} pixels: too large to decode")
    buf = io.BytesIO()
    obj.extract(buf, fb_format="png")
    data = buf.getvalue()
    return data, sniff_picture(data)
