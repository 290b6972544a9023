"""Pictures of PDF files, via pypdfium2 (BSD/Apache; PyMuPDF would be AGPL).

JPEG and JPEG 2000 image objects are returned exactly as stored; other encodings
(Flate, CCITT, JBIG2, ...) have no file format of their own, so pdfium decodes them and
they are written as PNG. Password-protected files get the error
``"encrypted (password protected)"``.
"""

from __future__ import annotations

import io
from pathlib import Path

from lookalike.errors import require

from . import (
    ENCRYPTED,
    MAX_IMAGES_PER_DOCUMENT,
    Budget,
    DocumentImages,
    ExtractedImage,
    sniff_format,
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
        for index in range(min(pages, MAX_PAGES)):
            if budget.expired():
                result.warnings.append("time budget exceeded: stopped early")
                break
            if len(result.images) >= MAX_IMAGES_PER_DOCUMENT:
                result.warnings.append(
                    f"more than {MAX_IMAGES_PER_DOCUMENT} pictures: rest skipped"
                )
                break
            try:
                page = pdf[index]
            except Exception as exc:
                result.warnings.append(f"page {index + 1}: unreadable ({exc})"[:200])
                continue
            try:
                _page_images(page, index + 1, result, budget, raw)
            finally:
                page.close()
    finally:
        pdf.close()


def _page_images(page, number: int, result: DocumentImages, budget: Budget, raw) -> None:
    count = 0
    objects = page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=MAX_FORM_DEPTH)
    for obj in objects:
        if budget.expired() or len(result.images) >= MAX_IMAGES_PER_DOCUMENT:
            break
        count += 1
        where = f"page {number}"
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
        ext = {"jpeg": "jpg"}.get(fmt, fmt)
        result.images.append(
            ExtractedImage(
                name=f"page{number}_img{count}.{ext}", data=data, format=fmt, location=where
            )
        )


def _image_bytes(obj) -> tuple[bytes, str | None]:
    """The stored bytes of a JPEG/JPEG 2000 image object, else the decoded pixels as PNG."""
    filters = obj.get_filters()
    if (
        filters
        and filters[-1] in ("DCTDecode", "JPXDecode")
        and all(f in ("DCTDecode", "JPXDecode") for f in filters)
    ):
        data = bytes(obj.get_data(decode_simple=False))
        fmt = sniff_format(data)
        if fmt in ("jpeg", "jp2", "j2k"):
            return data, fmt
    width, height = obj.get_px_size()
    if width * height > MAX_DECODE_PIXELS:
        raise ValueError(f"{width}x{height} pixels: too large to decode")
    buf = io.BytesIO()
    obj.extract(buf, fb_format="png")
    data = buf.getvalue()
    return data, sniff_format(data)
