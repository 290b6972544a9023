"""lookalike: find images that look alike.

>>> import lookalike
>>> result = lookalike.compare("a.jpg", "b.jpg")      # doctest: +SKIP
>>> result.verdict, result.scores["phash"].distance   # doctest: +SKIP
('similar', 3)
"""

from __future__ import annotations

__version__ = "0.1.0"

from lookalike.compare import Comparison, compare
from lookalike.decode import load, load_raw
from lookalike.errors import DecodeError, DocumentError, LookalikeError, MissingDependencyError
from lookalike.features import FeatureSet, extract_features
from lookalike.methods import METHODS, Hash, Method, get_method
from lookalike.methods.hashes import average_hash, dhash, phash, whash

__all__ = [
    "METHODS",
    "Comparison",
    "DecodeError",
    "DocumentError",
    "FeatureSet",
    "Hash",
    "LookalikeError",
    "Method",
    "MissingDependencyError",
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
