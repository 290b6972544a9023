"""Bounded inflation of the compressed streams documents carry (zlib and gzip).

One function for every compressed picture: OfficeArt metafile BLIPs (zlib) and
.emz/.wmz metafiles (gzip). The output is capped before it is produced, so a stream that
claims to hold a few bytes and inflates to gigabytes costs nothing.
"""

from __future__ import annotations

import zlib

__all__ = ["inflate"]


def inflate(data: bytes, limit: int, *, gzip: bool = False) -> bytes | None:
    """``data`` inflated, or None when it is corrupt or would exceed ``limit`` bytes."""
    z = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
    try:
        out = z.decompress(data, max(limit, 1))
    except zlib.error:
        return None
    return None if z.unconsumed_tail else out
