"""Compare two images with any set of methods: scores per method and one overall verdict."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from lookalike.decode import ImageSource, source_name
from lookalike.errors import DecodeError
from lookalike.features import extract_features
from lookalike.match.cascade import OverallVerdict, Score, decide, score_rows
from lookalike.match.relation import PairRelation, relate
from lookalike.methods import DEFAULT_METHODS, Method, get_method


@dataclass
class Comparison:
    """The result of :func:`compare`: every method's score and the cascade's verdict."""

    a: str
    b: str
    scores: dict[str, Score] = field(default_factory=dict)
    verdict: OverallVerdict = "different"
    decided_by: str = ""
    #: How b differs from a, as measured (None when the verdict is "different").
    relation: PairRelation | None = None
    #: The pair's similarity on the scale ``dupes``, ``docs`` and ``search`` share
    #: (:mod:`lookalike.match.relation`): >= 85% when alike, under it when different.
    calibrated: float = 0.0

    @property
    def similarity(self) -> float:
        """The deciding method's similarity in [0, 1]."""
        return self.scores[self.decided_by].similarity

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``lookalike compare --json``."""
        return {
            "a": self.a,
            "b": self.b,
            "methods": {name: s.to_dict() for name, s in self.scores.items()},
            "verdict": self.verdict,
            "decided_by": self.decided_by,
            "similarity": round(self.similarity, 6),
            "calibrated": round(self.calibrated, 6),
            "relation": self.relation.to_dict() if self.relation is not None else None,
        }


def resolve_methods(methods: Sequence[str | Method] | None) -> list[Method]:
    """Method names or objects -> method objects (the defaults when ``None``)."""
    chosen = methods or DEFAULT_METHODS
    return [get_method(m) if isinstance(m, str) else m for m in chosen]


def compare(
    a: ImageSource, b: ImageSource, methods: Sequence[str | Method] | None = None
) -> Comparison:
    """Compare two images (paths, bytes or file objects) with ``methods`` (default: all cheap
    global methods plus ORB verification). Raises DecodeError if either cannot be read."""
    ms = resolve_methods(methods)
    fs = extract_features([a, b], ms)
    if fs.failures:
        f = fs.failures[0]
        raise DecodeError(f.path, f.reason)
    out = Comparison(source_name(a), source_name(b))
    for m in ms:
        f = fs.features[m.name]
        out.scores[m.name] = score_rows(m, f[0:1], f[1:2])[0]
    out.verdict, out.decided_by = decide(out.scores)
    sizes = colours = None
    if "aspect" in fs.features:
        w = [tuple(float(x) for x in row[:2]) for row in fs.features["aspect"]]
        sizes = (w[0], w[1])
    if "color" in fs.features:
        colours = (fs.features["color"][0:1], fs.features["color"][1:2])
    out.relation, out.calibrated = relate(
        out.scores,
        out.verdict,
        sizes=sizes,  # type: ignore[arg-type]
        colours=colours or (None, None),
        same_bytes=out.verdict != "different" and _same_bytes(a, b),
        fallback=out.similarity,
    )
    return out


def _same_bytes(a: ImageSource, b: ImageSource) -> bool:
    """Whether two sources are the same bytes (paths or bytes; file objects: not known)."""
    from lookalike.store.catalog import content_digest, file_digest

    def digest(x: ImageSource) -> bytes | None:
        if isinstance(x, bytes | bytearray):
            return content_digest(bytes(x))
        if isinstance(x, str | os.PathLike):
            try:
                return file_digest(x)
            except OSError:
                return None
        return None

    da, db = digest(a), digest(b)
    return da is not None and da == db
