"""imagehash 4.3.2's API with imagehash's hash values, computed by lookalike.

Switch with one line::

    import lookalike.compat.imagehash as imagehash

The names, signatures, value types (:class:`ImageHash`, :class:`ImageMultiHash`),
string formats, exceptions and hash values are those of imagehash 4.3.2
(J. Buchner, BSD-2-Clause, https://github.com/JohannesBuchner/imagehash). imagehash's own
test suite runs against this module (``tests/compat/imagehash_suite``), and
``tests/compat/test_imagehash_compat.py`` checks bit-identity with imagehash on real photos.

How the values stay identical: the grey LANCZOS thumbnails are made by Pillow exactly as
imagehash makes them (``convert("L")`` of the full image, then ``resize``), and the
maths runs on lookalike's exact-mode hash methods (:mod:`lookalike.methods.hashes`),
scipy's DCT and PyWavelets. JPEG draft (DCT-scaled) decoding is never used: it changes
the pixels, so it would change the hashes. Segmentation for :func:`crop_resistant_hash`
labels connected regions with ``scipy.ndimage`` instead of a Python flood fill, keeping
imagehash's region order and its stopping rule.

One extension: every hash function also accepts a path, bytes or a binary file object,
opened and loaded as ``Image.open`` would (no EXIF rotation), where imagehash requires a
Pillow image.

For speed over bit-identity, :mod:`lookalike.compat.imagehash_fast` has the same API with
JPEG draft decoding (see there).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, Literal, cast

import numpy
import numpy.typing
from PIL import Image, ImageFilter

from lookalike.decode import ImageSource, load_raw
from lookalike.errors import DecodeError
from lookalike.methods.hashes import AHash, DHash, PHash

__version__ = "4.3.2"

#: imagehash's name for Pillow's LANCZOS filter
ANTIALIAS = Image.Resampling.LANCZOS

NDArray = numpy.typing.NDArray[numpy.bool_]
WhashMode = Literal["haar", "db4"]
MeanFunc = Callable[[NDArray], float]
ImageLike = Image.Image | ImageSource

_HEX_DIGITS = numpy.array(list("0123456789abcdef"))
_NIBBLE = numpy.array([8, 4, 2, 1])


def _binary_array_to_hex(arr: numpy.ndarray) -> str:
    """Hex string of a binary array, zero-padded to ``ceil(bits / 4)`` digits (imagehash's)."""
    flat = 1 * arr.flatten()
    if flat.size and flat.dtype.kind in "iub" and numpy.all((flat == 0) | (flat == 1)):
        padded = numpy.concatenate([numpy.zeros(-flat.size % 4, flat.dtype), flat])
        return "".join(_HEX_DIGITS[padded.reshape(-1, 4) @ _NIBBLE])
    # anything else (no bits, values other than 0/1) fails or formats as imagehash does
    bit_string = "".join(str(b) for b in flat)
    width = -(-len(bit_string) // 4)
    return f"{int(bit_string, 2):0>{width}x}"


class ImageHash:
    """One hash: ``.hash`` is the boolean array, ``a - b`` the Hamming distance, ``str()``
    hex. Usable as a dictionary key."""

    def __init__(self, binary_array: NDArray) -> None:
        self.hash = binary_array

    def __str__(self) -> str:
        return _binary_array_to_hex(self.hash.flatten())

    def __repr__(self) -> str:
        return repr(self.hash)

    def __sub__(self, other: ImageHash) -> int:
        if other is None:
            raise TypeError("Other hash must not be None.")
        if self.hash.size != other.hash.size:
            raise TypeError(
                "ImageHashes must be of the same shape.", self.hash.shape, other.hash.shape
            )
        return numpy.count_nonzero(self.hash.flatten() != other.hash.flatten())

    def __eq__(self, other: Any) -> bool:
        if other is None:
            return False
        return numpy.array_equal(self.hash.flatten(), other.hash.flatten())

    def __ne__(self, other: Any) -> bool:
        if other is None:  # sic: imagehash answers False to both == None and != None
            return False
        return not numpy.array_equal(self.hash.flatten(), other.hash.flatten())

    def __hash__(self) -> int:
        # imagehash's value: bit i adds 2 ** (i % 8), an intentionally short integer
        set_bits = numpy.flatnonzero(self.hash.flatten())
        return int(numpy.left_shift(1, set_bits % 8).sum())

    def __len__(self) -> int:
        return self.hash.size


HashFunc = Callable[[Image.Image], ImageHash]


def _hex_bits(hexstr: str, width: int) -> numpy.ndarray:
    """The hex value as a 1-D boolean array of at least ``width`` bits (leading zeros)."""
    text = f"{int(hexstr, 16):0>{width}b}"
    if text.strip("01"):  # a negative value: fail as imagehash does
        return numpy.array([bool(int(d)) for d in text])
    return numpy.frombuffer(text.encode("ascii"), numpy.uint8) == ord("1")


def hex_to_hash(hexstr: str) -> ImageHash:
    """Parse ``str(ImageHash)`` back into a square hash (as imagehash does: the side is
    ``int(sqrt(4 * len(hexstr)))``, so sizes whose bit count is not a multiple of 4
    round-trip)."""
    hash_size = int(numpy.sqrt(len(hexstr) * 4))
    bits = _hex_bits(hexstr, hash_size * hash_size)
    if bits.size % hash_size:  # ragged rows: numpy refuses them, as in imagehash
        rows = [bits[i : i + hash_size].tolist() for i in range(0, bits.size, hash_size)]
        return ImageHash(numpy.array(rows))
    return ImageHash(bits.reshape(-1, hash_size))


def hex_to_flathash(hexstr: str, hashsize: int) -> ImageHash:
    """Parse a flat hash (``colorhash``'s ``str()``) of ``hashsize`` bits per row."""
    hash_size = int(len(hexstr) * 4 / hashsize)
    bits = _hex_bits(hexstr, hash_size * hashsize)
    return ImageHash(bits[None, :][-hash_size * hashsize :])


def hex_to_multihash(hexstr: str) -> ImageMultiHash:
    """Parse ``str(ImageMultiHash)`` (comma-separated hex hashes)."""
    return ImageMultiHash([hex_to_hash(part) for part in hexstr.split(",")])


def old_hex_to_hash(hexstr: str, hash_size: int = 8) -> ImageHash:
    """Parse a hash stored by imagehash <= 3.7 (bytes in order, least significant bit
    first)."""
    count = hash_size * (hash_size // 4)
    if len(hexstr) != count:
        raise ValueError(f"Expected hex string size of {count}.")
    values = [int("0x" + hexstr[2 * i : 2 * i + 2], 16) for i in range(count // 2)]
    if not values:
        return ImageHash(numpy.array([]))
    bits = (numpy.array(values)[:, None] >> numpy.arange(8)) & 1
    return ImageHash(bits > 0)


#: Set by :mod:`lookalike.compat.imagehash_fast`: grey thumbnails of JPEGs come from a
#: draft (DCT-scaled) decode.
DRAFT: ContextVar[bool] = ContextVar("lookalike_imagehash_draft", default=False)

#: The drafted image keeps at least this many pixels on each side. From a smaller draft
#: the LANCZOS thumbnail strays further from the full decode's (on 480 x 300 photos
#: drafted to 1/8, pHash moved a median of 2 bits), and the decode saved is small anyway.
DRAFT_MIN_SIDE = 256


def _is_source(image: ImageLike) -> bool:
    """A path, bytes or binary file object rather than a Pillow image."""
    if isinstance(image, str | os.PathLike | bytes | bytearray | memoryview):
        return True
    return hasattr(image, "read") and not hasattr(image, "convert")


def _as_image(image: ImageLike) -> Image.Image:
    """A Pillow image as given; a path, bytes or file object opened as ``Image.open``."""
    if _is_source(image):
        return load_raw(cast(ImageSource, image))
    return cast(Image.Image, image)


def _source_of(image: ImageLike) -> ImageSource | None:
    """What to decode a draft from: the source as given, or the file behind a Pillow JPEG
    that is still unloaded (so the caller's image object is left as it was); None when
    there is none (a loaded or non-JPEG image)."""
    if _is_source(image):
        return cast(ImageSource, image)
    if getattr(image, "format", None) != "JPEG" or not getattr(image, "tile", None):
        return None
    filename = getattr(image, "filename", "")
    if filename:
        return cast(str, filename)
    fp = getattr(image, "fp", None)
    if fp is None:
        return None
    at = fp.tell()
    try:
        fp.seek(0)
        return io.BytesIO(fp.read())
    finally:
        fp.seek(at)


def _grey_thumbnail(image: ImageLike, size: tuple[int, int]) -> numpy.ndarray:
    """imagehash's thumbnail: ``convert("L")`` of the whole image, LANCZOS resize.

    Under :data:`DRAFT` a JPEG is decoded in grey at the smallest DCT scale that still
    covers ``size`` and :data:`DRAFT_MIN_SIDE` (1/8 for a 12 MP photo)."""
    source = _source_of(image) if DRAFT.get() else None
    if source is not None:
        try:
            floor = (max(size[0], DRAFT_MIN_SIDE), max(size[1], DRAFT_MIN_SIDE))
            image = load_raw(source, draft=("L", floor))
        except DecodeError:
            if _is_source(image):
                raise
            # the caller's own image: its full decode raises what Pillow (and imagehash) would
    return numpy.asarray(_lanczos_grey(_as_image(image), size))


#: Pictures of at least this many pixels are converted and shrunk in horizontal strips on
#: :data:`_STRIPS` threads (Pillow releases the GIL there); smaller ones in one go.
STRIP_PIXELS = 2_000_000
_STRIPS = max(1, min(4, os.cpu_count() or 1))
_strip_pool: ThreadPoolExecutor | None = None


def _lanczos_grey(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image.convert("L").resize(size, LANCZOS)``, the same pixels, faster on a large
    picture: Pillow's resize runs its horizontal pass row by row and then its vertical
    pass, so strips of rows are converted and shrunk across on threads, then stacked and
    shrunk down in one vertical pass (checked equal on real 8-15 MP photos by
    ``tests/compat/test_imagehash_compat.py``)."""
    global _strip_pool
    w, h = image.size
    if _STRIPS < 2 or w * h < STRIP_PIXELS or image.mode not in ("RGB", "RGBA", "L"):
        return image.convert("L").resize(size, ANTIALIAS)
    image.load()
    cuts = [round(h * k / _STRIPS) for k in range(_STRIPS + 1)]

    def strip(k: int) -> Image.Image:
        rows = image.crop((0, cuts[k], w, cuts[k + 1])).convert("L")
        return rows.resize((size[0], cuts[k + 1] - cuts[k]), ANTIALIAS)  # across only

    if _strip_pool is None:
        _strip_pool = ThreadPoolExecutor(_STRIPS, thread_name_prefix="lookalike-imagehash")
    narrow = Image.new("L", (size[0], h))
    for k, part in enumerate(_strip_pool.map(strip, range(_STRIPS))):
        narrow.paste(part, (0, cuts[k]))
    return narrow.resize(size, ANTIALIAS)  # down only


def _check_hash_size(hash_size: int) -> None:
    if hash_size < 2:
        raise ValueError("Hash size must be greater than or equal to 2")


def _bits(code: numpy.ndarray, shape: tuple[int, int]) -> NDArray:
    """One packed code row of lookalike's batch methods -> imagehash's boolean array."""
    count = shape[0] * shape[1]
    return numpy.unpackbits(code, count=count).astype(bool).reshape(shape)


def average_hash(image: ImageLike, hash_size: int = 8, mean: MeanFunc = numpy.mean) -> ImageHash:
    """Average hash: grey ``hash_size`` square thumbnail, bit = pixel > ``mean(pixels)``."""
    _check_hash_size(hash_size)
    pixels = _grey_thumbnail(image, (hash_size, hash_size))
    if mean is numpy.mean:  # lookalike's aHash is this exact computation
        code = AHash(hash_size, exact=True).compute([pixels])[0]
        return ImageHash(_bits(code, pixels.shape))
    return ImageHash(pixels > mean(pixels))


def phash(image: ImageLike, hash_size: int = 8, highfreq_factor: int = 4) -> ImageHash:
    """Perceptual hash: 2-D DCT of a grey ``hash_size * highfreq_factor`` thumbnail, bit =
    low-frequency coefficient > their median."""
    _check_hash_size(hash_size)
    img_size = hash_size * highfreq_factor
    pixels = _grey_thumbnail(image, (img_size, img_size))
    if highfreq_factor >= 1:  # lookalike's exact pHash: scipy's DCT, then the median
        method = PHash(hash_size, highfreq_factor=highfreq_factor, exact=True)
        return ImageHash(_bits(method.compute([pixels])[0], (hash_size, hash_size)))
    import scipy.fftpack

    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    low = dct[:hash_size, :hash_size]
    return ImageHash(low > numpy.median(low))


def phash_simple(image: ImageLike, hash_size: int = 8, highfreq_factor: int = 4) -> ImageHash:
    """imagehash's simple pHash: 1-D DCT along rows, bit = coefficient > their mean
    (the DC column left out)."""
    import scipy.fftpack

    img_size = hash_size * highfreq_factor
    pixels = _grey_thumbnail(image, (img_size, img_size))
    low = scipy.fftpack.dct(pixels)[:hash_size, 1 : hash_size + 1]
    return ImageHash(low > low.mean())


def dhash(image: ImageLike, hash_size: int = 8) -> ImageHash:
    """Difference hash: bit = pixel brighter than its left neighbour, on a grey
    ``(hash_size + 1) x hash_size`` thumbnail."""
    _check_hash_size(hash_size)
    pixels = _grey_thumbnail(image, (hash_size + 1, hash_size))
    code = DHash(hash_size, exact=True).compute([pixels])[0]
    return ImageHash(_bits(code, (hash_size, hash_size)))


def dhash_vertical(image: ImageLike, hash_size: int = 8) -> ImageHash:
    """Difference hash down the columns: bit = pixel brighter than the one above."""
    pixels = _grey_thumbnail(image, (hash_size, hash_size + 1))
    return ImageHash(pixels[1:, :] > pixels[:-1, :])


def whash(
    image: ImageLike,
    hash_size: int = 8,
    image_scale: int | None = None,
    mode: WhashMode = "haar",
    remove_max_haar_ll: bool = True,
) -> ImageHash:
    """Wavelet hash: the LL band of a ``mode`` wavelet decomposition, bit = LL > median.

    ``hash_size`` and ``image_scale`` must be powers of 2 (``AssertionError`` otherwise,
    as in imagehash); ``image_scale`` defaults to the largest power of 2 not above the
    image's short side; ``remove_max_haar_ll`` first removes the image's mean (the
    coarsest Haar LL)."""
    import pywt

    if image_scale is not None:
        assert image_scale & (image_scale - 1) == 0, "image_scale is not power of 2"
    else:  # at least half the short side: no draft scale is small enough to help
        image = _as_image(image)
        image_scale = max(2 ** int(numpy.log2(min(image.size))), hash_size)
    ll_max_level = int(numpy.log2(image_scale))
    level = int(numpy.log2(hash_size))
    assert hash_size & (hash_size - 1) == 0, "hash_size is not power of 2"
    assert level <= ll_max_level, "hash_size in a wrong range"

    pixels = _grey_thumbnail(image, (image_scale, image_scale)) / 255.0
    if remove_max_haar_ll:
        coeffs = list(pywt.wavedec2(pixels, "haar", level=ll_max_level))
        coeffs[0] *= 0
        pixels = pywt.waverec2(coeffs, "haar")
    low = pywt.wavedec2(pixels, mode, level=ll_max_level - level)[0]
    return ImageHash(low > numpy.median(low))


def colorhash(image: ImageLike, binbits: int = 3) -> ImageHash:
    """Colour hash: 14 fractions of the image, ``binbits`` bits each: black, grey (low
    saturation), then 6 hue bins of faint and 6 of bright colours."""
    image = _as_image(image)
    black = numpy.asarray(image.convert("L")).ravel() < 256 // 8
    hsv = numpy.ascontiguousarray(numpy.asarray(image.convert("HSV")))
    # Each pixel's hue and saturation bytes read as one little-endian uint16 (saturation *
    # 256 + hue): one bincount gives the (saturation, hue) table that every fraction
    # imagehash takes with masks sums over (integer counts, hence the same values).
    hue_sat = numpy.ndarray((hsv.size // 3,), "<u2", hsv, strides=(3,))
    table = numpy.bincount(hue_sat, minlength=1 << 16)
    lit = (table - numpy.bincount(hue_sat[black], minlength=1 << 16)).reshape(256, 256)
    grey, faint_from, bright_from = 256 // 3, 256 // 3, 256 * 2 // 3 + 1
    c = max(1, lit[faint_from:].sum())
    hue_bins = numpy.linspace(0, 255, 6 + 1)
    counts: list[Any] = []
    # faint: grey <= saturation < 170, bright: saturation > 170 (sic: 170 is in neither)
    for per_hue in (lit[faint_from : bright_from - 1].sum(axis=0), lit[bright_from:].sum(axis=0)):
        weighted = numpy.histogram(numpy.arange(256), bins=hue_bins, weights=per_hue)[0]
        counts.extend(weighted.astype(numpy.int64))
    pixels = numpy.float64(black.size)  # an empty image gives NaN, as numpy's mean does
    fractions = (numpy.count_nonzero(black) / pixels, lit[:grey].sum() / pixels)

    top = 2**binbits
    values = [
        min(top - 1, int(fractions[0] * top)),
        min(top - 1, int(fractions[1] * top)),
    ]
    values += [min(top - 1, int(n * top * 1.0 / c)) for n in counts]
    # imagehash's bit i of a value: (v // 2**(binbits - i - 1)) % 2**(binbits - i) > 0
    bits = [
        v // 2 ** (binbits - i - 1) % 2 ** (binbits - i) > 0 for v in values for i in range(binbits)
    ]
    return ImageHash(numpy.asarray(bits).reshape((-1, binbits)))


class ImageMultiHash:
    """Hashes of an image's segments (:func:`crop_resistant_hash`), matched as in
    "Efficient Cropping-Resistant Robust Image Hashing" (Steinebach et al., ARES 2014):
    two multi-hashes are equal when at least one segment matches."""

    def __init__(self, hashes: list[ImageHash]) -> None:
        self.segment_hashes = hashes

    def __eq__(self, other: Any) -> bool:
        if other is None:
            return False
        return self.matches(other)

    def __ne__(self, other: Any) -> bool:
        return not self.matches(other)

    def __sub__(
        self,
        other: ImageMultiHash,
        hamming_cutoff: float | None = None,
        bit_error_rate: float | None = None,
    ) -> float:
        matches, sum_distance = self.hash_diff(other, hamming_cutoff, bit_error_rate)
        max_difference = len(self.segment_hashes)
        if matches == 0:
            return max_difference
        max_distance = matches * len(self.segment_hashes[0])
        tie_breaker = 0 - (float(sum_distance) / max_distance)
        return max_difference - (matches + tie_breaker)

    def __hash__(self) -> int:
        return hash(tuple(hash(segment) for segment in self.segment_hashes))

    def __str__(self) -> str:
        return ",".join(str(x) for x in self.segment_hashes)

    def __repr__(self) -> str:
        return repr(self.segment_hashes)

    def hash_diff(
        self,
        other_hash: ImageMultiHash,
        hamming_cutoff: float | None = None,
        bit_error_rate: float | None = None,
    ) -> tuple[int, int]:
        """(segments of ``self`` whose nearest segment of ``other_hash`` is within the cutoff,
        the sum of those nearest distances). The cutoff defaults to 25% of the bits."""
        if hamming_cutoff is None:
            if bit_error_rate is None:
                bit_error_rate = 0.25
            hamming_cutoff = len(self.segment_hashes[0]) * bit_error_rate
        distances = []
        for segment_hash in self.segment_hashes:
            nearest = min(segment_hash - other for other in other_hash.segment_hashes)
            if nearest <= hamming_cutoff:
                distances.append(nearest)
        return len(distances), sum(distances)

    def matches(
        self,
        other_hash: ImageMultiHash,
        region_cutoff: int = 1,
        hamming_cutoff: float | None = None,
        bit_error_rate: float | None = None,
    ) -> bool:
        """True when at least ``region_cutoff`` segments match ``other_hash``."""
        matches, _ = self.hash_diff(other_hash, hamming_cutoff, bit_error_rate)
        return matches >= region_cutoff

    def best_match(
        self,
        other_hashes: Sequence[ImageMultiHash],
        hamming_cutoff: float | None = None,
        bit_error_rate: float | None = None,
    ) -> ImageMultiHash:
        """The hash of ``other_hashes`` at the least ``self - other`` (the first on ties)."""
        return min(
            other_hashes, key=lambda other: self.__sub__(other, hamming_cutoff, bit_error_rate)
        )


# -- segmentation for crop_resistant_hash -------------------------------------------------

_FOUR_NEIGHBOURS = numpy.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])


def _label(mask: numpy.ndarray) -> tuple[numpy.ndarray, int]:
    """4-connected regions, numbered in raster order of their first pixel (from 1)."""
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=_FOUR_NEIGHBOURS)
    return labels, int(count)


def _regions(
    pixels: numpy.ndarray, segment_threshold: float
) -> list[tuple[numpy.ndarray, int, int]]:
    """imagehash's regions in its order: (labels, label, size) for every bright region
    ("hill", ``pixels > segment_threshold``), then dark regions ("valleys") until
    imagehash's loop stops.

    imagehash counts the pixels it has assigned in a set that starts with the 2 * (w + h)
    pixels around the border and leaves out one-pixel regions; its valley loop runs while
    that count is below w * h. So it can stop before the last valleys (kept here), and it
    fails with ``IndexError`` when there is no valley left to take (raised here too).
    """
    rows, cols = pixels.shape
    bright = pixels > segment_threshold
    assigned = 2 * (rows + cols)
    out = []
    for mask, is_hill in ((bright, True), (~bright, False)):
        labels, count = _label(mask)
        sizes = numpy.bincount(labels.ravel(), minlength=count + 1)
        for lab in range(1, count + 1):
            if not is_hill and assigned >= rows * cols:
                return out
            size = int(sizes[lab])
            out.append((labels, lab, size))
            if size > 1:
                assigned += size
        if not is_hill and assigned < rows * cols:
            numpy.empty((0, 2), int)[0]  # imagehash: no pixel left -> IndexError
    return out


def _find_all_segments(
    pixels: numpy.ndarray, segment_threshold: float, min_segment_size: int
) -> list[set[tuple[int, int]]]:
    """The segments (sets of (row, column) pixels) of more than ``min_segment_size`` pixels,
    bright regions first, as imagehash's ``_find_all_segments`` returns them."""
    return [
        set(map(tuple, numpy.argwhere(labels == lab).tolist()))
        for labels, lab, size in _regions(pixels, segment_threshold)
        if size > min_segment_size
    ]


def _find_region(
    remaining_pixels: numpy.ndarray, segmented_pixels: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """The 4-connected region of ``remaining_pixels`` around its first True pixel, leaving
    out ``segmented_pixels``; adds the region to ``segmented_pixels`` unless it is a single
    pixel (imagehash's bookkeeping). ``segmented_pixels`` holds the pixels just outside the
    image border, as :func:`_find_all_segments` sets it up."""
    start = tuple(numpy.transpose(numpy.nonzero(remaining_pixels))[0])
    mask = numpy.array(remaining_pixels, dtype=bool)
    rows, cols = mask.shape
    for r, c in segmented_pixels:
        if 0 <= r < rows and 0 <= c < cols:
            mask[r, c] = False
    mask[start] = True
    labels, _ = _label(mask)
    region = set(map(tuple, numpy.argwhere(labels == labels[start]).tolist()))
    if len(region) > 1:
        segmented_pixels.update(region)
    return region


def crop_resistant_hash(
    image: ImageLike,
    hash_func: HashFunc = dhash,
    limit_segments: int | None = None,
    segment_threshold: int = 128,
    min_segment_size: int = 500,
    segmentation_image_size: int = 300,
) -> ImageMultiHash:
    """Segment-wise hash (Steinebach et al., ARES 2014, DOI 10.1109/ARES.2014.85): the
    blurred grey image is split into bright and dark regions; each region's bounding box
    in the original image is hashed with ``hash_func``. ``limit_segments`` keeps only
    that many of the largest regions."""
    image = _as_image(image)
    orig_image = image.copy()
    size = segmentation_image_size
    small = _lanczos_grey(image, (size, size))
    small = small.filter(ImageFilter.GaussianBlur()).filter(ImageFilter.MedianFilter())
    pixels = numpy.array(small).astype(numpy.float32)

    boxes = []  # (pixel count, first row, first column, last row + 1, last column + 1)
    for labels, lab, count in _regions(pixels, segment_threshold):
        if count > min_segment_size:
            where = numpy.argwhere(labels == lab)
            (r0, c0), (r1, c1) = where.min(axis=0), where.max(axis=0) + 1
            boxes.append((count, int(r0), int(c0), int(r1), int(c1)))
    if not boxes:  # the whole image as one segment
        boxes.append((2, 0, 0, size, size))
    if limit_segments:
        boxes = sorted(boxes, key=lambda b: b[0], reverse=True)[:limit_segments]

    orig_w, orig_h = orig_image.size
    scale_w = float(orig_w) / size
    scale_h = float(orig_h) / size
    hashes = []
    for _, r0, c0, r1, c1 in boxes:
        box = (c0 * scale_w, r0 * scale_h, c1 * scale_w, r1 * scale_h)
        hashes.append(hash_func(orig_image.crop(box)))
    return ImageMultiHash(hashes)


__all__ = [
    "ANTIALIAS",
    "HashFunc",
    "ImageHash",
    "ImageMultiHash",
    "MeanFunc",
    "NDArray",
    "WhashMode",
    "average_hash",
    "colorhash",
    "crop_resistant_hash",
    "dhash",
    "dhash_vertical",
    "hex_to_flathash",
    "hex_to_hash",
    "hex_to_multihash",
    "old_hex_to_hash",
    "phash",
    "phash_simple",
    "whash",
]
