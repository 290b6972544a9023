"""imagehash 4.3.2's API, several times faster on JPEGs, at the price of bit-identity.

Switch with one line::

    import lookalike.compat.imagehash_fast as imagehash

Everything is :mod:`lookalike.compat.imagehash` (the same names, signatures, types,
strings and exceptions), except where the grey thumbnail of a JPEG comes from: here the
JPEG is decoded in grey at the smallest DCT scale (1/2, 1/4 or 1/8) that still covers the
thumbnail, which skips most of the decode, instead of decoding every pixel in colour
first. The thumbnail then differs from imagehash's by rounding, so a hash can differ by a
few bits; ``python bench/imagehash_compat.py`` measures how often and by how much, and
the speed.

Drafted: a path, bytes or file object given to a hash function, and a Pillow JPEG that is
still unloaded (``Image.open`` without ``.load()``). That image object is left as it was:
the draft is decoded from its file. Everything else (loaded images, other formats,
``whash`` without ``image_scale``, ``colorhash`` and ``crop_resistant_hash``, which need the
whole image) is computed exactly as in :mod:`lookalike.compat.imagehash`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from lookalike.compat import imagehash as _exact
from lookalike.compat.imagehash import (
    ANTIALIAS,
    HashFunc,
    ImageHash,
    ImageMultiHash,
    MeanFunc,
    NDArray,
    WhashMode,
    colorhash,
    crop_resistant_hash,
    hex_to_flathash,
    hex_to_hash,
    hex_to_multihash,
    old_hex_to_hash,
)

__version__ = _exact.__version__

P = ParamSpec("P")
R = TypeVar("R")


def _drafted(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` with JPEG thumbnails drafted (see the module docstring)."""

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _exact.DRAFT.set(True)
        try:
            return func(*args, **kwargs)
        finally:
            _exact.DRAFT.reset(token)

    return run


average_hash = _drafted(_exact.average_hash)
phash = _drafted(_exact.phash)
phash_simple = _drafted(_exact.phash_simple)
dhash = _drafted(_exact.dhash)
dhash_vertical = _drafted(_exact.dhash_vertical)
whash = _drafted(_exact.whash)

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
