"""The registry of similarity methods: one line per method.

``get_method("phash")`` builds a method by name; ``METHODS`` lists the names in the
order of the cascade (cheapest first). See :mod:`lookalike.methods.base` for the protocol.
"""

from __future__ import annotations

from collections.abc import Callable

from lookalike.methods.base import CodeMethod, Method, Thresholds, Verdict, hamming
from lookalike.methods.color import ColorHistogram
from lookalike.methods.content import ContentFingerprint
from lookalike.methods.geometry import AspectRatio
from lookalike.methods.gist import Gist
from lookalike.methods.hashes import AHash, DHash, DihedralPHash, Hash, PHash, WHash
from lookalike.methods.regions import RegionHashes
from lookalike.methods.ssim import SSIM


def _local(**kw: object) -> Method:
    from lookalike.methods.local import LocalMethod

    return LocalMethod(**kw)  # type: ignore[arg-type]


def _words(**kw: object) -> Method:
    from lookalike.methods.words import VisualWords

    return VisualWords(**kw)  # type: ignore[arg-type]


#: name -> factory; keyword arguments pass through (hash_size=16, exact=True, metric=...)
REGISTRY: dict[str, Callable[..., Method]] = {
    "aspect": AspectRatio,
    "ahash": AHash,
    "dhash": DHash,
    "phash": PHash,
    "whash": WHash,
    "phash8": DihedralPHash,
    "regions": RegionHashes,
    "color": ColorHistogram,
    "content": ContentFingerprint,
    "ssim": SSIM,
    "gist": Gist,
    "words": lambda **kw: _words(**kw),
    "orb": lambda **kw: _local(detector="orb", **kw),
    "sift": lambda **kw: _local(detector="sift", **kw),
}


def _embed(**kw: object) -> Method:
    from lookalike.methods.embed import Embed

    return Embed(**kw)  # type: ignore[arg-type]


#: Methods built from a file the user gives (``model=PATH``): not in :data:`REGISTRY`,
#: whose methods all build without arguments. ``get_method("embed", model=PATH)``.
MODEL_METHODS: dict[str, Callable[..., Method]] = {"embed": _embed}

#: All names, cheapest first.
METHODS: tuple[str, ...] = tuple(REGISTRY)
#: The methods `compare` runs when none are named.
DEFAULT_METHODS: tuple[str, ...] = (
    "aspect",
    "ahash",
    "dhash",
    "phash",
    "phash8",
    "whash",
    "color",
    "content",
    "ssim",
    "orb",
)
#: The methods `eval run` and `eval pairs` score when none are named: the defaults and GIST
#: (the classic global descriptor, for comparison).
EVAL_METHODS: tuple[str, ...] = (*DEFAULT_METHODS, "gist")
HASHES: tuple[str, ...] = ("ahash", "dhash", "phash", "whash")


def get_method(name: str, **options: object) -> Method:
    """Build the method called ``name`` (case-insensitive) with its options."""
    key = name.strip().lower()
    if key in MODEL_METHODS:
        return MODEL_METHODS[key](**options)
    if key not in REGISTRY:
        choices = ", ".join((*METHODS, *MODEL_METHODS))
        raise ValueError(f"unknown method {name!r}; choose from: {choices}")
    return REGISTRY[key](**options)


__all__ = [
    "DEFAULT_METHODS",
    "EVAL_METHODS",
    "HASHES",
    "METHODS",
    "MODEL_METHODS",
    "REGISTRY",
    "CodeMethod",
    "Hash",
    "Method",
    "Thresholds",
    "Verdict",
    "get_method",
    "hamming",
]
