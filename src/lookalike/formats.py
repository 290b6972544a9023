"""The one content sniffer: what a file is, from its first bytes, never from its name.

Every stage that must know a format asks here: the folder scan (images and zip archives),
the document extractors (pictures inside documents, metafiles included), the document
finder (OOXML, OLE, PDF), the video reader (MP4/MOV, Matroska/WebM, AVI, MPEG-TS/PS, FLV),
the loader and the scan when they explain a refusal. One list of magic numbers, one list
of HEIF brands, one list of image extensions.
"""

from __future__ import annotations

import os

__all__ = [
    "HEAD_BYTES",
    "IMAGE_EXTENSIONS",
    "MAGICLESS",
    "VIDEO_HEAD_BYTES",
    "describe",
    "document_kind",
    "extension_format",
    "format_extension",
    "is_video",
    "sniff",
    "sniff_container",
    "sniff_picture",
    "sniff_video",
]

#: Bytes read from each file to recognise its format.
HEAD_BYTES = 64

#: Names that promise an image: a file named so whose content is not one is reported.
# fmt: off
IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".pjpeg", ".png", ".apng", ".gif", ".bmp",
    ".dib", ".tif", ".tiff", ".webp", ".ico", ".cur", ".heic", ".heif", ".hif", ".avif",
    ".jp2", ".j2k", ".jpf", ".jpx", ".jxl", ".psd", ".ppm", ".pgm", ".pbm", ".pnm", ".qoi",
    ".dds", ".icns", ".tga", ".pcx",
})
# fmt: on
#: Formats without a magic number: trusted by extension, the decoder has the last word.
MAGICLESS = frozenset({".tga", ".pcx"})

_FTYP_IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)


def sniff(head: bytes) -> str | None:
    """The image format the first bytes of a file announce, ``"zip"``, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and len(head) >= 18 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and len(head) >= 6 and head[4]:
        return "ico"
    if head[4:8] == b"ftyp":
        box = int.from_bytes(head[:4], "big")
        brands = {head[i : i + 4] for i in range(8, min(box, len(head)) - 3, 4)}
        if brands & _FTYP_IMAGE_BRANDS:
            return "avif" if b"avif" in brands or b"avis" in brands else "heic"
        return None
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "jpeg2000"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "jxl"
    if head[:4] == b"8BPS":
        return "psd"
    if head[:4] == b"qoif":
        return "qoi"
    if head[:4] == b"DDS ":
        return "dds"
    if head[:4] == b"icns":
        return "icns"
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"1234567" and head[2:3] in b" \t\r\n":
        return "pnm"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    return None


def describe(head: bytes) -> str:
    """What a file that is not a readable image holds instead, for the failure reason."""
    if not head:
        return "empty file (0 bytes)"
    if not head.strip(b"\x00"):
        return "zero bytes (a blank or sparse file)"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "a zip archive or Office document"
    if head[4:8] == b"ftyp":
        box = int.from_bytes(head[:4], "big")
        brands = {head[i : i + 4] for i in range(8, min(box, len(head)) - 3, 4)}
        if brands & _FTYP_IMAGE_BRANDS:
            return "a HEIC/AVIF image, which needs pillow-heif: pip install 'lookalike[heif]'"
        return "a video or other ISO media file"
    if head.lstrip()[:1] == b"<":
        return "HTML or XML text"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a multi-byte character cut at the end is still text
            return "unrecognised content"
    return "text"


_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"BM", 0, "bmp"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"\xd7\xcd\xc6\x9a", 0, "wmf"),
    (b" EMF", 40, "emf"),
    (b"\x00\x00\x00\x0cjP  ", 0, "jp2"),
    (b"\xff\x4f\xff\x51", 0, "j2k"),
    (b"II\xbc", 0, "jxr"),
    (b"\x00\x00\x01\x00", 0, "ico"),
)
_EXTENSION_FORMATS = {
    "png": "png", "jpg": "jpeg", "jpeg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "gif": "gif",
    "bmp": "bmp", "dib": "bmp", "tif": "tiff", "tiff": "tiff", "emf": "emf", "wmf": "wmf",
    "emz": "emz", "wmz": "wmz", "pict": "pict", "pct": "pict", "pic": "pict", "wdp": "jxr",
    "jxr": "jxr", "hdp": "jxr", "svg": "svg", "webp": "webp", "ico": "ico", "jp2": "jp2",
    "heic": "heic", "avif": "avif",
}  # fmt: skip


def sniff_picture(data: bytes, name: str = "") -> str | None:
    """A picture's format inside a document (metafiles and SVG too) from its first bytes,
    else from the name's extension, else None."""
    for magic, offset, fmt in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if len(data) >= 18 and data[:2] in (b"\x01\x00", b"\x02\x00") and data[2:4] == b"\x09\x00":
        return "wmf"  # WMF without the placeable header
    if data[:4] == b"\x01\x00\x00\x00" and data[40:44] == b" EMF":
        return "emf"
    head = data[:256].lstrip()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096]:
        return "svg"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    return _EXTENSION_FORMATS.get(ext)


#: The file extension a saved picture gets for each format (never the member's own).
_FORMAT_EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}
_KNOWN_FORMATS = frozenset(_EXTENSION_FORMATS.values()) | {fmt for _, _, fmt in _MAGIC}


def extension_format(extension: str) -> str | None:
    """The picture format a file extension names (``JPG`` -> ``jpeg``), or None."""
    return _EXTENSION_FORMATS.get(extension.lower().lstrip("."))


def format_extension(fmt: str) -> str:
    """The extension for a sniffed format: ``jpeg`` -> ``jpg``; unknown ones -> ``bin``."""
    return _FORMAT_EXTENSIONS.get(fmt, fmt) if fmt in _KNOWN_FORMATS else "bin"


def sniff_container(path: str | os.PathLike[str]) -> str:
    """What a document file is by content: ``zip`` (OOXML), ``ole`` (legacy Office),
    ``pdf``, or ``""``."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if head[:2] == b"PK":
        return "zip"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole"
    if b"%PDF-" in head:
        return "pdf"
    return ""


def document_kind(path: str | os.PathLike[str], family: str) -> str:
    """A document's kind: its extension when that fits the family its content showed
    (``docm`` for a macro-enabled Word file), else the family's name (``docx``)."""
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    families = {
        "docx": {"docx", "docm", "dotx", "dotm"},
        "xlsx": {"xlsx", "xlsm", "xltx", "xltm", "xlam"},
        "pptx": {"pptx", "pptm", "potx", "potm", "ppsx", "ppsm"},
        "doc": {"doc", "dot"},
        "xls": {"xls", "xlt"},
        "ppt": {"ppt", "pot", "pps"},
    }
    return ext if ext in families.get(family, ()) else family


#: Bytes to read for :func:`sniff_video` (MPEG-TS needs three 188-byte packets).
VIDEO_HEAD_BYTES = 3 * 188 + 1

_QUICKTIME_BOXES = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def sniff_video(head: bytes) -> str | None:
    """The video container the first bytes announce (``mp4``, ``mov``, ``matroska``,
    ``avi``, ``mpegts``, ``mpegps``, ``flv``), or None."""
    if head[4:8] == b"ftyp":
        size = int.from_bytes(head[:4], "big")
        brands = {head[i : i + 4] for i in range(8, min(size, len(head)) - 3, 4)} - {b"\0" * 4}
        if brands and brands <= _FTYP_IMAGE_BRANDS:
            return None
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[4:8] in _QUICKTIME_BOXES and int.from_bytes(head[:4], "big") >= 8:
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if len(head) >= 3 * 188 and all(head[i] == 0x47 for i in (0, 188, 376)):
        return "mpegts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpegps"
    if head.startswith(b"FLV\x01"):
        return "flv"
    return None


def is_video(path: str | os.PathLike[str]) -> bool:
    """True when the file's content is a video container (unreadable files: False)."""
    try:
        with open(path, "rb") as fh:
            return sniff_video(fh.read(VIDEO_HEAD_BYTES)) is not None
    except OSError:
        return False
