"""The classic perceptual hashes: aHash, dHash, pHash and wHash, batched.

Each hash reduces an image to a tiny grey thumbnail and keeps one bit per cell:

* aHash (8x8 mean): a cell is 1 when brighter than the mean [Krawetz 2011, "Looks Like It"];
* dHash (9x8 neighbour differences): 1 when brighter than its left neighbour
  [Krawetz 2013, "Kind of Like That"];
* pHash (32x32 DCT, low 8x8, median): 1 when the DCT coefficient exceeds the median of
  the low 8x8 block [Krawetz 2011; Zauner 2010];
* wHash (Haar wavelet LL band, median) [imagehash, after the Avito duplicate-ads contest].

Codes are compared by Hamming distance; the sources' thresholds for 64 bits are
``d <= 5`` similar and ``d > 10`` different, similarity ``1 - d / 64``.

Two modes:

* ``exact=True`` reproduces imagehash 4.3 bit for bit (``convert("L")``, LANCZOS resize of
  the full image, scipy's DCT, PyWavelets' Haar transform). Feed it images opened with
  :func:`lookalike.decode.load_raw` (no EXIF rotation, as imagehash sees them).
* the default fast mode feeds the same maths a JPEG decoded with DCT scaling (draft) and
  EXIF-oriented; a whole batch is computed with matrix products. Its median distance to
  the exact hash on real photos is given in the README (measured by ``tests``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from PIL import Image

from lookalike.decode import ImageSource, load, load_raw
from lookalike.methods.base import CodeMethod, Thresholds, hamming, hamming_matrix

LANCZOS = Image.Resampling.LANCZOS

#: The sources' thresholds for 64-bit codes: d <= 5 similar, d > 10 different.
HASH_THRESHOLDS = Thresholds(similar=1 - 5 / 64, different=1 - 10.5 / 64)
#: pHash's own, measured on real photos (docs/accuracy.md): d <= 8 similar, d > 14
#: different. It raised the cascade's recall at precision 0.99 from 0.946 to 0.952 with
#: verdict precision 0.998; the other hashes keep the sources' thresholds.
PHASH_THRESHOLDS = Thresholds(similar=1 - 8 / 64, different=1 - 14.5 / 64)


def _grey(image: Image.Image) -> Image.Image:
    return image if image.mode == "L" else image.convert("L")


def _resize(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Grey LANCZOS resize, as imagehash does; the array is uint8 (h, w)."""
    return np.asarray(_grey(image).resize(size, LANCZOS))


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(n, ...) booleans -> (n, nbytes) uint8, first bit = most significant bit of byte 0."""
    bits = np.asarray(bits, dtype=bool)
    return np.packbits(bits.reshape(bits.shape[0], -1), axis=1)


class _HashMethod(CodeMethod):
    """Shared plumbing: hash size, exact/fast mode, thresholds."""

    thresholds: Thresholds = HASH_THRESHOLDS

    def __init__(self, hash_size: int = 8, *, exact: bool = False) -> None:
        if hash_size < 2:
            raise ValueError(f"hash_size must be >= 2, got {hash_size}")
        self.hash_size = hash_size
        self.exact = exact
        self.bits = hash_size * hash_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hash_size={self.hash_size}, exact={self.exact})"


class AHash(_HashMethod):
    """Average hash: 8x8 grey thumbnail, bit = pixel > mean."""

    name = "ahash"
    min_size = 64
    reference = "N. Krawetz, 'Looks Like It', hackerfactor.com, 2011; imagehash.average_hash"

    def prepare(self, image: Image.Image) -> np.ndarray:
        return _resize(image, (self.hash_size, self.hash_size))

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        px = np.stack(prepared).astype(np.float64)
        mean = px.mean(axis=(1, 2), keepdims=True)
        return pack_bits(px > mean)


class DHash(_HashMethod):
    """Difference hash: 9x8 grey thumbnail, bit = pixel > its left neighbour."""

    name = "dhash"
    min_size = 64
    reference = "N. Krawetz, 'Kind of Like That', hackerfactor.com, 2013; imagehash.dhash"

    def prepare(self, image: Image.Image) -> np.ndarray:
        return _resize(image, (self.hash_size + 1, self.hash_size))

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        px = np.stack(prepared)
        return pack_bits(px[:, :, 1:] > px[:, :, :-1])


@cache
def _dct_rows(n: int, keep: int) -> np.ndarray:
    """The first ``keep`` rows of the unnormalised DCT-II matrix of size n (scipy's default)."""
    k = np.arange(keep)[:, None]
    i = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


class PHash(_HashMethod):
    """Perceptual hash: 32x32 grey, 2-D DCT, low 8x8 block, bit = coefficient > median."""

    name = "phash"
    min_size = 64
    thresholds = PHASH_THRESHOLDS
    reference = (
        "N. Krawetz, 'Looks Like It', 2011; C. Zauner, 'Implementation and Benchmarking of "
        "Perceptual Image Hash Functions', 2010; imagehash.phash"
    )

    def __init__(self, hash_size: int = 8, *, highfreq_factor: int = 4, exact: bool = False):
        super().__init__(hash_size, exact=exact)
        self.highfreq_factor = highfreq_factor
        self.min_size = max(128, 4 * hash_size * highfreq_factor)

    def prepare(self, image: Image.Image) -> np.ndarray:
        n = self.hash_size * self.highfreq_factor
        return _resize(image, (n, n))

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        px = np.stack(prepared).astype(np.float64)
        h = self.hash_size
        if self.exact:
            import scipy.fftpack

            dct = scipy.fftpack.dct(scipy.fftpack.dct(px, axis=1), axis=2)[:, :h, :h]
        else:
            c = _dct_rows(px.shape[1], h)
            dct = c @ px @ c.T
        med = np.median(dct.reshape(len(px), -1), axis=1)[:, None, None]
        return pack_bits(dct > med)


#: The codes of a phash8 row, in order: rotations counter-clockwise, then mirrored.
TRANSFORMS = (
    "",
    "rot90",
    "rot180",
    "rot270",
    "mirror",
    "mirror+rot90",
    "mirror+rot180",
    "mirror+rot270",
)


class DihedralPHash(PHash):
    """pHash of the image and of its 7 rotations / mirror images (the dihedral group D4).

    The feature row holds 8 codes: identity, rot90, rot180, rot270, mirror, and the mirror
    rotated. ``distance(a, b)`` is the least Hamming distance between either image's
    identity code and any of the other's 8 codes, so a copy rotated by a multiple of 90
    degrees or mirrored scores as high as a plain copy, and ``distance(a, b)`` equals
    ``distance(b, a)`` (the median threshold is not equivariant under the group, so one
    direction alone is not symmetric). Costs 8 DCTs of a 32x32 thumbnail: microseconds.
    """

    name = "phash8"
    reference = "pHash (Zauner 2010) over the dihedral group D4 of the thumbnail"

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        variants = [
            np.rot90(px, k) if not flip else np.rot90(px[:, ::-1], k)
            for px in prepared
            for flip in (False, True)
            for k in range(4)
        ]
        codes = super().compute(variants)  # (8n, nbytes)
        return codes.reshape(len(prepared), -1)

    def codes(self, features: np.ndarray) -> np.ndarray:
        """(n, 8 * nbytes) rows -> (n, 8, nbytes) codes, identity first."""
        f = np.asarray(features, dtype=np.uint8)
        return f.reshape(*f.shape[:-1], 8, -1)

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The least Hamming distance between either identity code and the other's 8 codes."""
        ca, cb = self.codes(a), self.codes(b)
        ab = hamming(ca[..., :1, :], cb).min(axis=-1)
        ba = hamming(cb[..., :1, :], ca).min(axis=-1)
        return np.minimum(ab, ba)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return 1.0 - self.distance(a, b) / self.bits

    def transforms(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Index into :data:`TRANSFORMS` of the code that gave the least distance (0 when
        the plain codes do as well as any)."""
        ca, cb = self.codes(a), self.codes(b)
        ab = hamming(ca[..., :1, :], cb)
        ba = hamming(cb[..., :1, :], ca)
        best = np.where(ab.min(axis=-1, keepdims=True) <= ba.min(axis=-1, keepdims=True), ab, ba)
        k = best.argmin(axis=-1)
        return np.where(best[..., 0] == best.min(axis=-1), 0, k)

    def relations(self, a: np.ndarray, b: np.ndarray) -> list[str]:
        """The transform that matched (``"rot90"``, ``"mirror"``...), for pairs whose
        plain pHash distance would not call them similar; ``""`` otherwise.

        A match only through a rotation or mirror image is weaker evidence than a plain
        one: centre-weighted dark designs match each other rotated at a plain distance of
        28-38 bits. The cascade asks local features to confirm it.
        """
        plain = hamming(self.codes(a)[..., 0, :], self.codes(b)[..., 0, :])
        limit = self.distance_thresholds()[0]
        k = np.atleast_1d(self.transforms(a, b))
        return [
            TRANSFORMS[t] if d > limit else "" for t, d in zip(k, np.atleast_1d(plain), strict=True)
        ]

    def distance_matrix(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n, m) :meth:`distance` of every row of ``a`` against every row of ``b``."""
        ca, cb = self.codes(a), self.codes(b)

        def one_way(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            ident = np.ascontiguousarray(x[:, 0, :])
            return np.minimum.reduce(
                [hamming_matrix(ident, np.ascontiguousarray(y[:, k, :])) for k in range(8)]
            )

        return np.minimum(one_way(ca, cb), one_way(cb, ca).T)


class WHash(_HashMethod):
    """Wavelet hash: Haar LL band of the grey image without its mean, bit = LL > median."""

    name = "whash"
    min_size = 64
    reference = "imagehash.whash (Haar wavelet, remove_max_haar_ll=True), after D. Petrov 2016"

    def prepare(self, image: Image.Image) -> np.ndarray:
        if self.exact:
            natural = 2 ** int(np.log2(min(image.size)))
            scale = max(natural, self.hash_size)
        else:
            scale = 4 * self.hash_size
        return _resize(image, (scale, scale))

    def compute(self, prepared: Sequence[np.ndarray]) -> np.ndarray:
        if self.exact:
            return np.concatenate([self._exact_one(px) for px in prepared])
        px = np.stack(prepared).astype(np.float64) / 255.0
        n, s, _ = px.shape
        f = s // self.hash_size
        # Haar LL after k levels is the block sum / 2**k: block means keep the same order.
        ll = px.reshape(n, self.hash_size, f, self.hash_size, f).mean(axis=(2, 4))
        ll -= px.mean(axis=(1, 2))[:, None, None]
        med = np.median(ll.reshape(n, -1), axis=1)[:, None, None]
        return pack_bits(ll > med)

    def _exact_one(self, px: np.ndarray) -> np.ndarray:
        """imagehash's whash on one prepared image, with PyWavelets (bit-identical)."""
        import pywt

        scale = px.shape[0]
        ll_max_level = int(np.log2(scale))
        dwt_level = ll_max_level - int(np.log2(self.hash_size))
        pixels = px / 255.0
        coeffs = list(pywt.wavedec2(pixels, "haar", level=ll_max_level))
        coeffs[0] *= 0
        pixels = pywt.waverec2(coeffs, "haar")
        low = pywt.wavedec2(pixels, "haar", level=dwt_level)[0]
        return pack_bits((low > np.median(low))[None])


class Hash:
    """One binary hash, like imagehash's ``ImageHash``: ``str()`` is hex, ``a - b`` is the
    Hamming distance, :meth:`from_hex` parses."""

    __slots__ = ("bits",)

    def __init__(self, bits: np.ndarray) -> None:
        self.bits = np.asarray(bits, dtype=bool).reshape(-1)

    @classmethod
    def from_code(cls, code: np.ndarray, bits: int | None = None) -> Hash:
        """From one packed uint8 row (as the batch functions return)."""
        unpacked = np.unpackbits(np.asarray(code, dtype=np.uint8))
        return cls(unpacked[: bits or unpacked.size])

    @classmethod
    def from_hex(cls, text: str) -> Hash:
        """Parse a hex string (as ``str()`` or imagehash's ``hex_to_hash`` writes it)."""
        text = text.strip().lower().removeprefix("0x")
        if not text or any(c not in "0123456789abcdef" for c in text):
            raise ValueError(f"not a hex hash: {text!r}")
        value = int(text, 16)
        nbits = 4 * len(text)
        return cls(np.array([(value >> (nbits - 1 - i)) & 1 for i in range(nbits)], bool))

    @property
    def code(self) -> np.ndarray:
        """The packed uint8 row."""
        return np.packbits(self.bits)

    def __str__(self) -> str:
        width = (self.bits.size + 3) // 4
        value = int("".join("1" if b else "0" for b in self.bits), 2) if self.bits.size else 0
        return f"{value:0{width}x}"

    def __repr__(self) -> str:
        return f"Hash('{self}')"

    def __len__(self) -> int:
        return int(self.bits.size)

    def __sub__(self, other: Hash) -> int:
        if not isinstance(other, Hash):
            return NotImplemented
        if other.bits.size != self.bits.size:
            raise ValueError(f"hashes differ in length: {self.bits.size} vs {other.bits.size}")
        return int(np.count_nonzero(self.bits != other.bits))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hash) and np.array_equal(self.bits, other.bits)

    def __hash__(self) -> int:
        return hash(self.bits.tobytes())

    def similarity(self, other: Hash) -> float:
        """``1 - d / bits``."""
        return 1.0 - (self - other) / len(self)


def codes_to_hashes(codes: np.ndarray, bits: int) -> list[Hash]:
    """Packed code rows -> Hash objects (for printing; not for the hot path)."""
    return [Hash.from_code(row, bits) for row in np.asarray(codes)]


def _one(method: _HashMethod, image: Image.Image | ImageSource) -> Hash:
    if not isinstance(image, Image.Image):
        image = load_raw(image) if method.exact else load(image, mode="L", min_size=method.min_size)
    return Hash.from_code(method.features([image])[0], method.bits)


def average_hash(
    image: Image.Image | ImageSource, hash_size: int = 8, *, exact: bool = False
) -> Hash:
    """aHash of one image (a Pillow image, a path, bytes or a file object)."""
    return _one(AHash(hash_size, exact=exact), image)


def dhash(image: Image.Image | ImageSource, hash_size: int = 8, *, exact: bool = False) -> Hash:
    """dHash of one image (a Pillow image, a path, bytes or a file object)."""
    return _one(DHash(hash_size, exact=exact), image)


def phash(image: Image.Image | ImageSource, hash_size: int = 8, *, exact: bool = False) -> Hash:
    """pHash of one image (a Pillow image, a path, bytes or a file object)."""
    return _one(PHash(hash_size, exact=exact), image)


def whash(image: Image.Image | ImageSource, hash_size: int = 8, *, exact: bool = False) -> Hash:
    """wHash of one image (a Pillow image, a path, bytes or a file object)."""
    return _one(WHash(hash_size, exact=exact), image)


__all__ = [
    "HASH_THRESHOLDS",
    "PHASH_THRESHOLDS",
    "AHash",
    "DHash",
    "DihedralPHash",
    "Hash",
    "PHash",
    "WHash",
    "average_hash",
    "codes_to_hashes",
    "dhash",
    "hamming",
    "pack_bits",
    "phash",
    "whash",
]
