"""Extract every embedded picture from Office (OOXML and legacy OLE) and PDF documents.

The library layer of ``lookalike docs``: :func:`extract_images` returns the pictures'
original bytes (no decoding, so it is fast and lossless) and never raises for a bad
document; hostile input (zip bombs, fuzzed files, encrypted files) becomes an ``error``
or a ``warning`` on the returned :class:`DocumentImages`.

Optional dependencies (the ``docs`` extra): ``olefile`` for .doc/.xls/.ppt, ``pypdfium2``
for PDF, ``metafile-render`` (and LibreOffice or libwmf, see :mod:`.metafile`) to
rasterize EMF/WMF pictures.
"""

from __future__ import annotations

import os
import re
import struct
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from lookalike.formats import extension_format, format_extension, sniff_container

__all__ = [
    "DOCUMENT_EXTENSIONS",
    "DocumentImages",
    "ExtractedImage",
    "extract_images",
    "is_document",
    "save_images",
    "unwrap_ole_object",
]

#: Extensions :func:`is_document` accepts when scanning folders.
DOCUMENT_EXTENSIONS = frozenset(
    {".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".pptx", ".pptm", ".doc", ".xls", ".ppt", ".pdf"}
)
#: Larger files are refused outright (documents are read into memory by olefile/pdfium).
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
#: Wall-clock budget for one document; past it the extraction stops with a warning.
DOCUMENT_TIME_BUDGET_S = 30.0
#: At most this many pictures are taken from one document (the rest are counted as
#: skipped). 1,000 near-identical pictures make ~500,000 candidate pairs, which the
#: comparison holds in memory: the cap keeps one document's check in minutes and < 1.5 GB.
MAX_IMAGES_PER_DOCUMENT = 1_000
#: Bound on the picture bytes taken from one document (all extractors).
MAX_IMAGE_BYTES_PER_DOCUMENT = 200 * 1024 * 1024
#: Documents embedded in documents are opened down to this depth (outer file = 0).
MAX_EMBEDDING_DEPTH = 3

ENCRYPTED = "encrypted (password protected)"
RIGHTS_MANAGED = "encrypted (IRM/DRM rights management)"
NOT_A_DOCUMENT = "not an Office or PDF document"


@dataclass
class ExtractedImage:
    """One picture as stored in a document (bytes untouched, except DIB/metafile notes).

    ``data`` is the original image file; a DIB gets a 14-byte BITMAPFILEHEADER so that
    Pillow reads it, a compressed metafile BLIP is inflated. ``is_preview`` marks the
    preview picture of an embedded OLE object (a chart, a PDF, an equation).
    """

    name: str
    data: bytes
    format: str
    location: str | None = None
    is_preview: bool = False
    #: Each place the picture is shown ("body, paragraph 12", "slide 3", "数据!C5"), in
    #: document order: one media part referenced twice has two. Empty when unknown.
    placements: list[str] = field(default_factory=list)
    #: The embedded document it came from, relative to the file opened ("inner.xlsx",
    #: "inner.docx > deeper.xlsx"); None for the file's own pictures.
    document: str | None = None


@dataclass
class DocumentImages:
    """The pictures of one document, or why it could not be read (``error``)."""

    path: str
    kind: str
    images: list[ExtractedImage] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: Embedded documents found by the extractor, (name, bytes): opened, then emptied,
    #: by :func:`extract_images`.
    embedded: list[tuple[str, bytes]] = field(default_factory=list)


class Budget:
    """Per-document limits: a deadline checked inside loops, a picture count and bytes.

    The defaults are read from the module constants when the budget is made, so tests
    (and callers) may lower them.
    """

    def __init__(
        self,
        seconds: float | None = None,
        *,
        max_images: int | None = None,
        max_image_bytes: int | None = None,
    ) -> None:
        self.seconds = DOCUMENT_TIME_BUDGET_S if seconds is None else seconds
        self.max_images = MAX_IMAGES_PER_DOCUMENT if max_images is None else max_images
        self.max_image_bytes = (
            MAX_IMAGE_BYTES_PER_DOCUMENT if max_image_bytes is None else max_image_bytes
        )
        self.deadline = time.monotonic() + self.seconds
        self.image_bytes = 0

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return time.monotonic() > self.deadline

    def ran_out(self, done: int, total: int | None, unit: str, where: str = "") -> str:
        """The warning for what the expired deadline left unread."""
        text = f"time budget of {self.seconds:g} s ran out"
        if where:
            text += f" {where}"
        if total is None:
            return f"{text} after {done} {unit}; the rest not read"
        return f"{text} after {done} of {total} {unit}; {total - done} {unit} not read"

    def refuse(self, result: DocumentImages, size: int) -> str | None:
        """Why one more picture of ``size`` bytes may not be taken, or None (then counted)."""
        if len(result.images) >= self.max_images:
            return f"picture limit of {self.max_images} per document reached"
        if self.image_bytes + size > self.max_image_bytes:
            return f"picture bytes over the per-document limit of {self.max_image_bytes}"
        self.image_bytes += size
        return None


def dib_to_bmp(dib: bytes) -> bytes:
    """Prepend the 14-byte BITMAPFILEHEADER a bare DIB lacks, so Pillow can read it."""
    header_size = struct.unpack_from("<I", dib, 0)[0] if len(dib) >= 4 else 40
    palette = 0
    if header_size == 12 and len(dib) >= 12:  # BITMAPCOREHEADER
        bits = struct.unpack_from("<H", dib, 10)[0]
        palette = 3 * (1 << bits) if bits <= 8 else 0
    elif header_size >= 40 and len(dib) >= 40:
        bits, compression = struct.unpack_from("<HI", dib, 14)
        colors_used = struct.unpack_from("<I", dib, 32)[0]
        if colors_used == 0 and bits <= 8:
            colors_used = 1 << bits
        palette = 4 * min(colors_used, 256)
        if header_size == 40 and compression in (3, 6):  # BI_BITFIELDS, BI_ALPHABITFIELDS
            palette += 12 if compression == 3 else 16
    offset = 14 + header_size + palette
    return b"BM" + struct.pack("<IHHI", 14 + len(dib), 0, 0, offset) + dib


def extract_images(
    path: str | os.PathLike[str], budget: Budget | None = None, *, depth: int = 0
) -> DocumentImages:
    """Every embedded picture of an Office or PDF document, found by content, not extension.

    Never raises for a bad document: an unreadable one gets ``error`` (e.g.
    ``"encrypted (password protected)"``), a bad member a line in ``warnings``.
    A missing optional dependency still raises MissingDependencyError (an install
    problem, not a document problem). ``budget``: the time and picture limits (default
    :class:`Budget`: 30 s, 1,000 pictures, 200 MiB of pictures). Embedded documents (a
    workbook in a .docx, an OLE object holding one) are opened too, down to
    MAX_EMBEDDING_DEPTH and within the same budget; their pictures carry ``document``.
    ``depth``: how deep ``path`` itself is embedded (for the recursion).
    """
    p = Path(path)
    result = DocumentImages(path=str(path), kind=p.suffix.lower().lstrip(".") or "unknown")
    try:
        size = p.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            result.error = f"too large ({size} bytes, limit {MAX_DOCUMENT_BYTES})"
            return result
        container = sniff_container(p)
    except OSError as exc:
        result.error = f"cannot read: {exc.strerror or exc}"
        return result
    budget = budget or Budget()
    try:
        if container == "zip":
            from .ooxml import extract_ooxml

            extract_ooxml(p, result, budget)
        elif container == "ole":
            from .legacy import extract_ole

            extract_ole(p, result, budget)
        elif container == "pdf":
            from .pdf import extract_pdf

            result.kind = "pdf"
            extract_pdf(p, result, budget)
        else:
            result.error = NOT_A_DOCUMENT
    except ImportError:
        raise
    except MemoryError:
        result.error = "corrupt or hostile document: out of memory"
        result.images.clear()
    except Exception as exc:  # a hostile file must never escape as an exception
        result.error = f"corrupt document: {type(exc).__name__}: {exc}"[:300]
    if result.embedded:
        embedded, result.embedded = result.embedded, []
        _open_embedded(result, embedded, budget, depth)
    return result


def _open_embedded(
    result: DocumentImages, embedded: list[tuple[str, bytes]], budget: Budget, depth: int
) -> None:
    """Add the pictures of the documents embedded in ``result``'s document (recursively)."""
    import tempfile

    for name, data in embedded:
        if depth + 1 > MAX_EMBEDDING_DEPTH:
            result.warnings.append(
                f"embedded {name}: not opened (nested deeper than {MAX_EMBEDDING_DEPTH})"
            )
            continue
        if budget.expired():
            result.warnings.append(
                f"embedded {name}: not opened ({budget.ran_out(0, None, 'pictures')})"
            )
            continue
        payload = unwrap_ole_object(data)
        if payload is None:
            continue  # an OLE object without a document (an equation, a chart, a package)
        with tempfile.TemporaryDirectory(prefix="lookalike-embedded-") as tmp:
            inner_path = Path(tmp, safe_file_name(name, "bin"))
            inner_path.write_bytes(payload)
            inner = extract_images(inner_path, budget, depth=depth + 1)
        label = name
        stem, dot, ext = name.rpartition(".")
        if dot and ext.lower() == "bin" and inner.kind not in ("bin", "unknown", "ole", "zip"):
            label = f"{stem}.{inner.kind}"
        if inner.error:
            result.warnings.append(f"embedded {label}: {inner.error}")
            continue
        result.warnings += (f"embedded {label}: {w}" for w in inner.warnings)
        for image in inner.images:
            if len(result.images) >= budget.max_images:
                result.warnings.append(
                    f"picture limit of {budget.max_images} per document reached: "
                    f"later pictures of embedded {label} skipped"
                )
                return
            image.document = label if image.document is None else f"{label} > {image.document}"
            result.images.append(image)


def unwrap_ole_object(data: bytes) -> bytes | None:
    """The document inside an embedded object: OOXML and PDF as they are; an OLE object's
    ``Package`` stream (an embedded .xlsx/.docx/.pptx) or ``CONTENTS`` (a PDF), or the
    OLE file itself when it is a legacy Office document; else None."""
    if data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return data if data[:2] == b"PK" or b"%PDF-" in data[:1024] else None
    try:
        import olefile
    except ImportError:
        return None
    try:
        with olefile.OleFileIO(data) as ole:
            top = {
                e[0].lower(): e for e in ole.listdir(streams=True, storages=False) if len(e) == 1
            }
            if top.keys() & {"worddocument", "workbook", "book", "powerpoint document"}:
                return data
            for stream in ("package", "contents"):
                if stream in top and ole.get_size(top[stream]) <= MAX_DOCUMENT_BYTES:
                    inner = ole.openstream(top[stream]).read(MAX_DOCUMENT_BYTES)
                    if inner[:2] == b"PK" or inner[:5] == b"%PDF-":
                        return bytes(inner)
    except Exception:  # a corrupt object is passed by like any other non-document object
        return None
    return None


def is_document(path: str | os.PathLike[str]) -> bool:
    """True for the Office/PDF extensions (case-insensitive): a cheap filter for folder scans."""
    return Path(path).suffix.lower() in DOCUMENT_EXTENSIONS


_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*]')
_RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


def clean_text(text: str) -> str:
    """``text`` with surrogate-escaped bytes (undecodable file names) decoded or replaced."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates that are not escaped bytes
        return re.sub("[\ud800-\udfff]", "\ufffd", text)


def safe_file_name(name: str, fmt: str = "") -> str:
    """A plain file name: no directories, ``..``, control characters or reserved names.

    Undecodable bytes (surrogate escapes) become U+FFFD, so the name is valid UTF-8.
    """
    base = re.split(r"[/\\]", clean_text(name))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE_CHARS.sub("_", base).strip(" .")
    if not base or base.split(".")[0].lower() in _RESERVED_NAMES:
        base = f"image_{base}" if base else "image"
    if "." not in base and fmt:
        base = f"{base}.{fmt}"
    if len(base.encode("utf-8")) > 150:
        stem, dot, ext = base.rpartition(".")
        if not dot or len(ext) > 10:
            stem, ext = base, ""
        while len(stem.encode("utf-8")) > 140:
            stem = stem[:-1]
        base = f"{stem}.{ext}" if ext else stem
    return base


def picture_file_name(name: str, fmt: str) -> tuple[str, str]:
    """(stem, extension) to save a picture under: the safe stem, the format's extension.

    The member's own extension is kept only when it names the same format
    (``photo.jpeg`` stays ``photo.jpeg``); any other (``gnp.exe``) is replaced.
    """
    ext = format_extension(fmt)
    base = safe_file_name(name)
    stem, dot, own = base.rpartition(".")
    if not dot:
        stem, own = base, ""
    if own and extension_format(own) == fmt and ext != "bin":
        ext = own
    stem = stem.strip(" .") or "image"
    if stem.split(".")[0].lower() in _RESERVED_NAMES:
        stem = f"image_{stem}"
    return stem, ext


def save_images(doc: DocumentImages, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write each picture of ``doc`` into ``out_dir`` (created); returns the written paths.

    Names are sanitized (``../evil.png`` becomes ``evil.png``) and de-duplicated
    (``image1.png``, ``image1_2.png``); existing files are never overwritten and
    nothing is written outside ``out_dir``. The extension is that of the sniffed format
    (``gnp.exe`` holding a PNG is saved as ``gnp.png``), never the member's own.
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    root_resolved = root.resolve()
    taken = {p.name.lower() for p in root.iterdir()}
    written: list[Path] = []
    for image in doc.images:
        stem, ext = picture_file_name(image.name, image.format)
        name = f"{stem}.{ext}"
        candidate, n = name, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{stem}_{n}.{ext}" if ext else f"{stem}_{n}"
        target = root / candidate
        if target.resolve().parent != root_resolved:  # pragma: no cover - belt and braces
            continue
        with open(target, "xb") as fh:
            fh.write(image.data)
        taken.add(candidate.lower())
        written.append(target)
    return written
