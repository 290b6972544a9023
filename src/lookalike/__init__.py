"""lookalike: find images that look alike.

>>> import lookalike
>>> result = lookalike.compare("a.jpg", "b.jpg")      # doctest: +SKIP
>>> result.verdict, result.scores["phash"].distance   # doctest: +SKIP
('similar', 3)

Public names load lazily (PEP 562), as scikit-image's do: ``import lookalike`` costs
milliseconds, and numpy, Pillow or OpenCV load only when a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that owns it
_OWNERS: dict[str, str] = {
    "Comparison": "lookalike.comparison",
    "compare": "lookalike.comparison",
    "load": "lookalike.decode",
    "load_raw": "lookalike.decode",
    "CollectionError": "lookalike.errors",
    "DecodeError": "lookalike.errors",
    "DocumentError": "lookalike.errors",
    "Failure": "lookalike.errors",
    "LookalikeError": "lookalike.errors",
    "MissingDependencyError": "lookalike.errors",
    "UnsupportedFormatError": "lookalike.errors",
    "UsageError": "lookalike.errors",
    "FeatureSet": "lookalike.features",
    "extract_features": "lookalike.features",
    "METHODS": "lookalike.methods",
    "Hash": "lookalike.methods",
    "Method": "lookalike.methods",
    "get_method": "lookalike.methods",
    "average_hash": "lookalike.methods.hashes",
    "dhash": "lookalike.methods.hashes",
    "phash": "lookalike.methods.hashes",
    "whash": "lookalike.methods.hashes",
    "Progress": "lookalike.progress",
}

__all__ = [
    "METHODS",
    "CollectionError",
    "Comparison",
    "DecodeError",
    "DocumentError",
    "Failure",
    "FeatureSet",
    "Hash",
    "LookalikeError",
    "Method",
    "MissingDependencyError",
    "Progress",
    "UnsupportedFormatError",
    "UsageError",
    "__version__",
    "average_hash",
    "compare",
    "dhash",
    "extract_features",
    "get_method",
    "load",
    "load_raw",
    "phash",
    "whash",
]


def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module 'lookalike' has no attribute {name!r}")
    value = getattr(importlib.import_module(owner), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_OWNERS))


if TYPE_CHECKING:  # the names as a type checker and an IDE see them
    from lookalike.comparison import Comparison, compare
    from lookalike.decode import load, load_raw
    from lookalike.errors import (
        CollectionError,
        DecodeError,
        DocumentError,
        Failure,
        LookalikeError,
        MissingDependencyError,
        UnsupportedFormatError,
        UsageError,
    )
    from lookalike.features import FeatureSet, extract_features
    from lookalike.methods import METHODS, Hash, Method, get_method
    from lookalike.methods.hashes import average_hash, dhash, phash, whash
    from lookalike.progress import Progress
