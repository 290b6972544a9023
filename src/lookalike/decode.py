"""One robust image loader: path, bytes or file-like in, a normalised Pillow image out.

Why one loader: every later stage (hashes, colour, local features, reports) must see the
same pixels for the same file, and every failure must become a :class:`DecodeError` that
names the file and the reason.

What it does, in order:

* recognises the format by content (Pillow's registry of first bytes), not the extension;
* refuses images whose declared size exceeds ``max_pixels`` before any pixel is decoded
  (decompression bombs);
* takes the first frame of animations (GIF, APNG, WebP);
* uses JPEG draft (DCT-domain 1/2, 1/4, 1/8 scaling) when the caller only needs a small
  image -- decoding, not hashing, is the cost of a perceptual hash;
* applies the EXIF orientation;
* normalises every mode to ``RGB`` or ``L``: transparency is composited on white, CMYK is
  converted, 16-bit and float images are scaled (not clipped) to 8 bits, 1-bit is widened.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from dataclasses import dataclass
from typing import IO, Literal

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from lookalike.errors import DecodeError, UnsupportedFormatError

#: ``Image.info`` key holding the (width, height) before draft scaling, after orientation.
SIZE_KEY = "lookalike.size"
_ORIENTATION = 0x0112

#: Default pixel limit: Pillow's own error threshold (2 x 89.5 MP).
MAX_PIXELS = 2 * 89_478_485

ImageSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
Mode = Literal["RGB", "L"]

_HEIF_TRIED = False


def _register_optional_plugins() -> None:
    """Register HEIC/AVIF support when pillow-heif is installed (once)."""
    global _HEIF_TRIED
    if _HEIF_TRIED:
        return
    _HEIF_TRIED = True
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        if hasattr(pillow_heif, "register_avif_opener"):
            pillow_heif.register_avif_opener()
    except Exception:  # optional plugin, absence is normal
        pass


@dataclass(frozen=True)
class SourceInfo:
    """What the loader learnt about a source beside its pixels."""

    name: str
    format: str | None
    width: int
    height: int
    frames: int


def source_name(source: ImageSource) -> str:
    """A printable name for a source: the path, the file object's name, or ``<bytes>``."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return "<bytes>"
    return str(getattr(source, "name", "<stream>"))


def _sniff_reason(head: bytes) -> str:
    """Explain why Pillow could not identify ``head``: what the bytes look like instead."""
    if not head:
        return "empty file (0 bytes)"
    if head[:4] in (b"ftyp", b"\x00\x00\x00\x18", b"\x00\x00\x00\x1c") or head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"hevc"):
            return (
                f"HEIC/AVIF image ({brand.decode('ascii', 'replace')}) needs pillow-heif: "
                "pip install 'lookalike[heif]'"
            )
    if head.startswith(b"%PDF"):
        return "not an image: a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "not an image: a zip archive or Office document"
    try:
        head[:64].decode("utf-8")
        return "not an image: the content is text"
    except UnicodeDecodeError:
        return "not an image: unrecognised content"


def _open(source: ImageSource, name: str) -> Image.Image:
    """Open lazily (header only), mapping every failure to DecodeError."""
    _register_optional_plugins()
    if isinstance(source, bytes | bytearray | memoryview):
        fp: IO[bytes] | str | os.PathLike[str] = io.BytesIO(bytes(source))
    else:
        fp = source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(fp)
    except FileNotFoundError:
        raise DecodeError(name, "no such file") from None
    except IsADirectoryError:
        raise DecodeError(name, "is a directory, not a file") from None
    except PermissionError:
        raise DecodeError(name, "permission denied") from None
    except Image.DecompressionBombError as exc:
        numbers = [int(n) for n in re.findall(r"\d+", str(exc))]
        detail = (
            f"{numbers[0] / 1e6:.0f} MP exceeds the limit of {numbers[1] / 1e6:.0f} MP"
            if len(numbers) >= 2
            else str(exc)
        )
        raise DecodeError(name, f"too large: {detail} (decompression bomb guard)") from None
    except UnidentifiedImageError:
        head = _read_head(source)
        reason = _sniff_reason(head)
        cls = UnsupportedFormatError if "needs pillow-heif" in reason else DecodeError
        raise cls(name, reason) from None
    except OSError as exc:
        raise DecodeError(name, f"cannot read: {exc}") from None


def _read_head(source: ImageSource, n: int = 64) -> bytes:
    try:
        if isinstance(source, bytes | bytearray | memoryview):
            return bytes(source[:n])
        if isinstance(source, str | os.PathLike):
            with open(source, "rb") as f:
                return f.read(n)
        pos = source.tell()
        source.seek(0)
        head = source.read(n)
        source.seek(pos)
        return head
    except (OSError, ValueError):
        return b""


def _refuse_empty(source: ImageSource, name: str) -> None:
    """A zero-byte source gets its own clear reason (Pillow would say 'cannot identify')."""
    if isinstance(source, bytes | bytearray | memoryview):
        size = len(source)
    elif isinstance(source, str | os.PathLike):
        try:
            size = os.path.getsize(source)
        except FileNotFoundError:
            raise DecodeError(name, "no such file") from None
        except OSError:
            return  # a directory or unreadable path: Image.open reports it
    else:
        return
    if size == 0:
        raise DecodeError(name, "empty file (0 bytes)")


def _check_size(name: str, w: int, h: int, max_pixels: int) -> None:
    """Refuse a declared size over the pixel limit before any pixel is decoded."""
    if w * h > max_pixels:
        raise DecodeError(
            name,
            f"too large: {w}x{h} = {w * h / 1e6:.0f} MP exceeds the limit of "
            f"{max_pixels / 1e6:.0f} MP (decompression bomb guard)",
        )


def _to_8bit(im: Image.Image) -> Image.Image:
    """Scale 16-bit / 32-bit / float images to 8 bits (Pillow's convert would clip)."""
    arr = np.asarray(im)
    if im.mode == "F":
        arr = np.nan_to_num(arr.astype(np.float64))
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    else:
        top = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if im.mode == "I" and arr.max(initial=0) > 65535:
            top = float(arr.max())
        scaled = arr.astype(np.float64) * (255.0 / top)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")


def normalise_mode(im: Image.Image, mode: Mode = "RGB") -> Image.Image:
    """Convert any Pillow mode to ``mode`` ("RGB" or "L"), compositing alpha on white."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        im = _to_8bit(im)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("RGB", "L") and "transparency" in im.info:
        im = im.convert("RGBA" if im.mode == "RGB" else "LA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode != mode:
        im = im.convert(mode)
    return im


def load(
    source: ImageSource,
    *,
    mode: Mode = "RGB",
    min_size: int | None = None,
    max_pixels: int = MAX_PIXELS,
    orient: bool = True,
    name: str | None = None,
) -> Image.Image:
    """Decode ``source`` into a loaded ``RGB`` or ``L`` Pillow image.

    ``min_size``: when given, the caller needs only an image whose short side is at least
    this many pixels; JPEGs are then decoded with DCT scaling (draft) to the smallest
    such size, several times faster than a full decode. ``max_pixels`` refuses larger
    images before decoding. ``orient`` applies the EXIF orientation.
    Raises :class:`DecodeError` naming the source and the reason.
    """
    name = name or source_name(source)
    _refuse_empty(source, name)
    im = _open(source, name)
    try:
        w, h = im.size
        if w <= 0 or h <= 0:
            raise DecodeError(name, f"invalid image size {w}x{h}")
        _check_size(name, w, h, max_pixels)
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        if min_size and im.format == "JPEG":
            draft_mode = "L" if mode == "L" else ("RGB" if im.mode == "RGB" else im.mode)
            scale = min(w, h) / min_size
            im.draft(draft_mode, (max(1, int(w / scale)), max(1, int(h / scale))))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                im.load()
        except Image.DecompressionBombError as exc:
            raise DecodeError(name, f"too large (decompression bomb guard): {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            msg = str(exc)
            if "truncated" in msg or isinstance(exc, EOFError):
                raise DecodeError(name, f"truncated or corrupt image data ({msg})") from None
            raise DecodeError(name, f"corrupt image data ({msg})") from None
        if orient:
            with contextlib.suppress(Exception):  # a broken EXIF block must not lose the image
                if im.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8):
                    w, h = h, w
                im = ImageOps.exif_transpose(im)
        out = normalise_mode(im, mode)
        out.info[SIZE_KEY] = (w, h)
        return out
    except DecodeError:
        raise
    except MemoryError:
        raise DecodeError(name, "out of memory while decoding") from None
    except Exception as exc:  # any decoder crash is this file's problem
        raise DecodeError(name, f"cannot decode: {type(exc).__name__}: {exc}") from None


def load_raw(source: ImageSource, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open and load ``source`` exactly as ``Image.open`` would (no orientation, no mode change).

    This is what imagehash sees; the exact hash mode uses it for bit-identical results.
    """
    name = source_name(source)
    _refuse_empty(source, name)
    im = _open(source, name)
    _check_size(name, *im.size, max_pixels)
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(name, f"truncated or corrupt image data ({exc})") from None
    return im


def probe(source: ImageSource) -> SourceInfo:
    """Read only the header: format, size and frame count (cheap, no pixel decoding)."""
    name = source_name(source)
    im = _open(source, name)
    return SourceInfo(name, im.format, im.size[0], im.size[1], getattr(im, "n_frames", 1))


# Truncated files are errors, never silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
