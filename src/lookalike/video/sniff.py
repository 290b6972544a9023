"""Recognise video containers by their first bytes, never by the file name.

This belongs in :mod:`lookalike.formats` (the one content sniffer); it lives here until
that module is free to change. Magic numbers: ISO base media (MP4, MOV, M4V, 3GP) has an
``ftyp`` box, or for old QuickTime files a ``moov``/``mdat``/``wide``/``free`` box first;
Matroska and WebM start with the EBML header ``1A 45 DF A3``; AVI is ``RIFF....AVI ``;
MPEG transport streams repeat the sync byte ``0x47`` every 188 bytes; MPEG program streams
start with the pack header ``00 00 01 BA``; FLV with ``FLV``.
"""

from __future__ import annotations

import os

__all__ = ["VIDEO_HEAD_BYTES", "is_video", "sniff_video"]

#: Bytes to read for :func:`sniff_video` (MPEG-TS needs three 188-byte packets).
VIDEO_HEAD_BYTES = 3 * 188 + 1

#: ``ftyp`` brands of still images (HEIC / AVIF): an ISO file with only these is no video.
_IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)
_QUICKTIME_BOXES = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def sniff_video(head: bytes) -> str | None:
    """The video container the first bytes announce (``mp4``, ``mov``, ``matroska``,
    ``avi``, ``mpegts``, ``mpegps``, ``flv``), or None."""
    if head[4:8] == b"ftyp":
        size = int.from_bytes(head[:4], "big")
        brands = {head[i : i + 4] for i in range(8, min(size, len(head)) - 3, 4)} - {b"\0" * 4}
        if brands and brands <= _IMAGE_BRANDS:
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
