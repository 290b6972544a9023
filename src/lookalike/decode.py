"""One robust image loader: path, bytes or file-like in, a normalised Pillow image out.

Why one loader: every later stage (hashes, colour, local features, reports) must see the
same pixels for the same file, and every failure must become a :class:`DecodeError` that
names the file and the reason.

What it does, in order:

* recognises the format by content (Pillow's registry of first bytes), not the extension;
* refuses images whose declared size exceeds ``max_pixels`` before any pixel is decoded
  (decompression bombs);
* refuses images whose decoding would need more memory than the budget (``max_bytes``,
  ``$LOOKALIKE_MAX_DECODE_MB``, default :data:`MAX_DECODE_MB`), estimated from the header:
  a few hundred KB of 16-bit PNG or float TIFF, or 30 bytes of WebP, can declare gigabytes;
* takes the first frame of animations (GIF, APNG, WebP);
* uses JPEG draft (DCT-domain 1/2, 1/4, 1/8 scaling) when the caller only needs a small
  image -- decoding, not hashing, is the cost of a perceptual hash; other large images are
  reduced (box average) band by band right after decoding, before any mode conversion;
* normalises every mode to ``RGB`` or ``L`` band by band, so no full-size temporary is made:
  transparency is composited on white, CMYK is converted, 16-bit and float images are
  scaled (not clipped) to 8 bits, 1-bit is widened;
* applies the EXIF orientation (to the small, normalised image).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Literal

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from lookalike.errors import DecodeError, UnsupportedFormatError
from lookalike.formats import describe

#: ``Image.info`` key holding the (width, height) before draft scaling, after orientation.
SIZE_KEY = "lookalike.size"
_ORIENTATION = 0x0112

#: Default pixel limit: Pillow's own error threshold (2 x 89.5 MP).
MAX_PIXELS = 2 * 89_478_485

#: Default memory budget of one decode, in MB: the estimated peak of decoding plus mode
#: normalisation. 1 GB admits a 100 MP photo at full size (or any image under
#: ``MAX_PIXELS`` once it is reduced to ``min_size``) and keeps the whole process, with its
#: ~150 MB of libraries, well under 1.5 GB.
MAX_DECODE_MB = 1024
#: Environment variable that overrides :data:`MAX_DECODE_MB` (a number of MB).
MAX_DECODE_ENV = "LOOKALIKE_MAX_DECODE_MB"
#: Non-JPEG images with more pixels than this are reduced when the caller needs ``min_size``
#: only (smaller ones keep their exact full-size pixels, as before).
REDUCE_ABOVE_PIXELS = 16_000_000
#: Pixels per band of mode normalisation: bounds the float and compositing temporaries.
BAND_PIXELS = 1 << 21
#: Bytes per pixel of a band's temporaries (crop, float64 scaling or RGBA compositing).
_BAND_BYTES_PER_PIXEL = 40
_DEEP_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

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
    #: An alpha channel or a transparent colour, known from the header.
    transparent: bool = False


def source_name(source: ImageSource) -> str:
    """A printable name for a source: the path, the file object's name, or ``<bytes>``."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return "<bytes>"
    return str(getattr(source, "name", "<stream>"))


def _sniff_reason(head: bytes) -> str:
    """Why Pillow could not identify ``head``: what the bytes are instead (:mod:`formats`)."""
    what = describe(head)
    if what.startswith("empty"):
        return what
    if "pillow-heif" in what:
        return what[0].upper() + what[1:]
    return f"not an image: the content is {what}"


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
    except MemoryError:
        raise DecodeError(name, "out of memory while reading the header") from None
    except Exception as exc:  # a plugin choking on a hostile header is this file's problem
        raise DecodeError(name, _failure_reason(exc, "cannot read the header")) from None


def _failure_reason(exc: BaseException, what: str) -> str:
    """A clear reason for a decoder exception; metadata bombs are named as such."""
    msg = str(exc)
    low = msg.lower()
    if "decompressed data too large" in low or "too much memory used in text chunks" in low:
        return (
            "decompression bomb in the metadata: a compressed text, ICC or EXIF chunk "
            f"expands past the decoder's safety limit ({msg})"
        )
    if "truncated" in low or isinstance(exc, EOFError):
        return f"truncated or corrupt image data ({msg})"
    if isinstance(exc, OSError | SyntaxError | ValueError):
        return f"corrupt image data ({msg})"
    return f"{what}: {type(exc).__name__}: {msg}"


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


def max_decode_bytes(max_bytes: int | None = None) -> int:
    """The decode budget in bytes: ``max_bytes``, else ``$LOOKALIKE_MAX_DECODE_MB``, else
    :data:`MAX_DECODE_MB` (an unreadable environment value falls back to the default)."""
    if max_bytes is not None:
        return int(max_bytes)
    env = os.environ.get(MAX_DECODE_ENV, "").strip()
    if env:
        with contextlib.suppress(ValueError):
            mb = float(env)
            if mb > 0:
                return int(mb * (1 << 20))
    return MAX_DECODE_MB << 20


def _bytes_per_pixel(mode: str) -> int:
    """Bytes per pixel of Pillow's in-memory storage (RGB is stored in 4 bytes)."""
    return _BYTES_PER_PIXEL.get(mode, 4)


def _reduce_factor(im: Image.Image, min_size: int | None) -> int:
    """Box-reduction factor for a large non-JPEG image when only ``min_size`` is needed."""
    w, h = im.size
    if not min_size or im.format == "JPEG" or w * h <= REDUCE_ABOVE_PIXELS:
        return 1
    return max(1, min(w, h) // min_size)


def _decoder_bytes(im: Image.Image, full: tuple[int, int]) -> int:
    """Memory a decoder holds beside the decoded image: buffers Pillow cannot avoid."""
    w, h = im.size
    if im.format == "WEBP":  # libwebp's frame and canvas, then a bytes copy (measured)
        return 3 * 4 * w * h
    if im.format == "JPEG" and ("progressive" in im.info or "progression" in im.info):
        # progressive JPEGs keep every DCT coefficient (2 bytes) of every component at full
        # size, whatever the draft; chroma subsampling shrinks the chroma planes
        layer = getattr(im, "layer", None) or [(0, 1, 1, 0)] * 4
        hmax = max(c[1] for c in layer) or 1
        vmax = max(c[2] for c in layer) or 1
        planes = sum(c[1] * c[2] for c in layer) / (hmax * vmax)
        return int(2 * planes * full[0] * full[1])
    if im.format == "TIFF":
        tags = getattr(im, "tag_v2", {})
        bits = tags.get(258, (8,))
        sample = max(bits) if isinstance(bits, tuple) and bits else 8
        bpp = -(-int(sample) * len(im.getbands()) // 8) or 1
        if 322 in tags and 323 in tags:  # tiled
            return int(tags[322]) * int(tags[323]) * bpp
        rows = min(h, int(tags.get(278, h) or h))
        return rows * w * bpp
    return 0


def estimate_decode_bytes(
    im: Image.Image,
    mode: Mode | None = "RGB",
    *,
    min_size: int | None = None,
    full_size: tuple[int, int] | None = None,
) -> int:
    """Estimated peak bytes of decoding an opened (not yet loaded) image and normalising it.

    Counts the decoded image in its stored mode (after JPEG draft), the decoder's own
    buffers, the normalised output (reduced when ``min_size`` allows), the band
    temporaries of 16-bit / float scaling and alpha compositing, and the orientation copy.
    ``mode=None`` counts decoding alone (:func:`load_raw`).
    """
    w, h = im.size
    n = w * h
    decoded = n * _bytes_per_pixel(im.mode)
    buffers = _decoder_bytes(im, full_size or (w, h))
    if mode is None:
        return decoded + buffers
    f = _reduce_factor(im, min_size)
    out_n = -(-w // f) * -(-h // f)
    identity = im.mode == mode and "transparency" not in im.info
    out = 0 if identity and f == 1 else out_n * _bytes_per_pixel(mode)
    bands = 0 if identity and f == 1 else min(n, BAND_PIXELS) * _BAND_BYTES_PER_PIXEL
    orient = out_n * _bytes_per_pixel(mode)
    return decoded + max(buffers, out + bands + orient)


def _check_budget(name: str, needed: int, budget: int) -> None:
    if needed > budget:
        raise DecodeError(
            name,
            f"needs ~{needed / 2**20:.0f} MB to decode, over the budget of "
            f"{budget / 2**20:.0f} MB; raise it with max_bytes= or ${MAX_DECODE_ENV} "
            "if this image is legitimate",
        )


def _rows(w: int, f: int) -> int:
    """Rows per band: about BAND_PIXELS pixels, a multiple of the reduction factor."""
    return max(f, BAND_PIXELS // max(1, w) // f * f)


def _bands(im: Image.Image, rows: int) -> Iterator[tuple[int, Image.Image]]:
    w, h = im.size
    if rows >= h:
        yield 0, im
        return
    for top in range(0, h, rows):
        yield top, im.crop((0, top, w, min(h, top + rows)))


def _scale_params(im: Image.Image) -> tuple[float, float]:
    """(offset, factor) that map a 16-bit / 32-bit / float image to 0..255 (whole image)."""
    if im.mode == "F":
        lo, hi = np.inf, -np.inf
        for _, band in _bands(im, _rows(im.size[0], 1)):
            arr = np.nan_to_num(np.asarray(band, dtype=np.float64))
            lo, hi = min(lo, float(arr.min())), max(hi, float(arr.max()))
        return lo, (255.0 / (hi - lo) if hi > lo else 0.0)
    if im.mode.startswith("I;16"):
        return 0.0, 255.0 / 65535.0
    top_value = im.getextrema()[1]
    top = float(top_value) if isinstance(top_value, int | float) else 255.0
    return 0.0, 255.0 / (top if top > 65535 else 65535.0 if top > 255 else 255.0)


def _to_8bit(im: Image.Image, params: tuple[float, float] | None = None) -> Image.Image:
    """Scale 16-bit / 32-bit / float images to 8 bits (Pillow's convert would clip)."""
    lo, factor = params or _scale_params(im)
    arr = np.asarray(im, dtype=np.float64)
    if im.mode == "F":
        arr = np.nan_to_num(arr)
    arr -= lo
    arr *= factor
    np.rint(arr, out=arr)
    np.clip(np.nan_to_num(arr, copy=False), 0, 255, out=arr)
    return Image.fromarray(arr.astype(np.uint8))


def _convert(im: Image.Image, mode: Mode, params: tuple[float, float] | None = None) -> Image.Image:
    """Convert one image (or band) to ``mode``, compositing alpha on white."""
    if im.mode in _DEEP_MODES:
        im = _to_8bit(im, params)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("RGB", "L") and "transparency" in im.info:
        im = im.convert("RGBA" if im.mode == "RGB" else "LA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
        del rgba, white
        im = im.convert("RGB")
    if im.mode != mode:
        im = im.convert(mode)
    return im


def normalise_mode(im: Image.Image, mode: Mode = "RGB", *, reduce: int = 1) -> Image.Image:
    """Convert any Pillow mode to ``mode`` ("RGB" or "L"), compositing alpha on white.

    Works band by band (no full-size float or RGBA temporary); ``reduce`` > 1 box-averages
    each band by that factor, so only the small result is ever allocated at its size.
    """
    if reduce <= 1 and im.mode == mode and "transparency" not in im.info:
        return im
    params = _scale_params(im) if im.mode in _DEEP_MODES else None
    w, h = im.size
    rows = _rows(w, reduce)
    if rows >= h:
        out = _convert(im, mode, params)
        return out.reduce(reduce) if reduce > 1 else out
    out = Image.new(mode, (-(-w // reduce), -(-h // reduce)))
    for top, band in _bands(im, rows):
        part = _convert(band, mode, params)
        out.paste(part.reduce(reduce) if reduce > 1 else part, (0, top // reduce))
    return out


def load(
    source: ImageSource,
    *,
    mode: Mode = "RGB",
    min_size: int | None = None,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int | None = None,
    orient: bool = True,
    name: str | None = None,
) -> Image.Image:
    """Decode ``source`` into a loaded ``RGB`` or ``L`` Pillow image.

    ``min_size``: when given, the caller needs only an image whose short side is at least
    this many pixels; JPEGs are then decoded with DCT scaling (draft) to the smallest
    such size, several times faster than a full decode, and other images over
    :data:`REDUCE_ABOVE_PIXELS` are box-reduced right after decoding. ``max_pixels``
    refuses larger images before decoding; ``max_bytes`` (default: see
    :func:`max_decode_bytes`) refuses images whose estimated decoding peak is larger.
    ``orient`` applies the EXIF orientation.
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
        # Image.open leaves an animation on its first frame: never count or walk the others.
        if min_size and im.format == "JPEG":
            draft_mode = "L" if mode == "L" else ("RGB" if im.mode == "RGB" else im.mode)
            scale = min(w, h) / min_size
            im.draft(draft_mode, (max(1, int(w / scale)), max(1, int(h / scale))))
        needed = estimate_decode_bytes(im, mode, min_size=min_size, full_size=(w, h))
        _check_budget(name, needed, max_decode_bytes(max_bytes))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                im.load()
        except Image.DecompressionBombError as exc:
            raise DecodeError(name, f"too large (decompression bomb guard): {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise DecodeError(name, _failure_reason(exc, "cannot decode")) from None
        orientation = 1
        if orient:
            with contextlib.suppress(Exception):  # a broken EXIF block must not lose the image
                orientation = int(im.getexif().get(_ORIENTATION, 1))
            if orientation in (5, 6, 7, 8):
                w, h = h, w
        out = normalise_mode(im, mode, reduce=_reduce_factor(im, min_size))
        del im
        if orientation in _TRANSPOSE:
            out = out.transpose(_TRANSPOSE[orientation])
        out.info[SIZE_KEY] = (w, h)
        return out
    except DecodeError:
        raise
    except MemoryError:
        raise DecodeError(name, "out of memory while decoding") from None
    except Exception as exc:  # any decoder crash is this file's problem
        raise DecodeError(name, _failure_reason(exc, "cannot decode")) from None


def load_raw(
    source: ImageSource,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int | None = None,
    draft: tuple[str, tuple[int, int]] | None = None,
) -> Image.Image:
    """Open and load ``source`` exactly as ``Image.open`` would (no orientation, no mode change).

    This is what imagehash sees; the exact hash mode uses it for bit-identical results.
    The pixel limit and the decode budget apply as in :func:`load`. ``draft``: Pillow's
    ``Image.draft(mode, size)`` before the decode when the image is at least twice ``size``
    (a JPEG decodes at 1/2, 1/4 or 1/8 scale, still at least ``size``; other formats
    ignore it): faster, but not the same pixels. Smaller images decode as without it.
    """
    name = source_name(source)
    _refuse_empty(source, name)
    im = _open(source, name)
    _check_size(name, *im.size, max_pixels)
    if draft is not None and min(a // b for a, b in zip(im.size, draft[1], strict=True)) >= 2:
        im.draft(*draft)
    _check_budget(name, estimate_decode_bytes(im, None), max_decode_bytes(max_bytes))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im.load()
    except MemoryError:
        raise DecodeError(name, "out of memory while decoding") from None
    except Exception as exc:  # any decoder crash is this file's problem
        raise DecodeError(name, _failure_reason(exc, "cannot decode")) from None
    return im


def probe(source: ImageSource) -> SourceInfo:
    """Read only the header: format, size and frame count (cheap, no pixel decoding)."""
    name = source_name(source)
    im = _open(source, name)
    transparent = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    return SourceInfo(
        name, im.format, im.size[0], im.size[1], getattr(im, "n_frames", 1), transparent
    )


# Truncated files are errors, never silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
