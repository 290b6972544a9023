"""What a duplicate search returns: verified pairs, groups with a suggested keeper, failures.

These plain records are the one shape every face uses: the terminal table, the JSON on
stdout, the HTML / xlsx / csv reports and the web page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lookalike.errors import Failure
from lookalike.match.relation import PairRelation


@dataclass(frozen=True)
class Pair:
    """Two images the cascade called alike; ``method`` is the layer that decided."""

    a: str
    b: str
    similarity: float
    method: str
    verdict: str = "similar"  # "identical" or "similar"
    relation: PairRelation | None = None  # how b differs from a (image 1 = a)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "a": self.a,
            "b": self.b,
            "similarity": round(self.similarity, 4),
            "method": self.method,
            "verdict": self.verdict,
        }
        if self.relation is not None:
            out["relation"] = self.relation.to_dict()
        return out


@dataclass(frozen=True)
class Member:
    """One image of a group: its similarity to the keeper, the deciding method and the
    relation (image 1 = the keeper, image 2 = this member)."""

    path: str
    similarity: float
    method: str
    width: int = 0
    height: int = 0
    bytes: int = 0
    relation: PairRelation | None = None

    @property
    def holds_more(self) -> bool:
        """Whether it holds its keeper's picture and more of its own: the keeper inside it
        (a screenshot or collage of it, the keeper pasted into another picture, or the
        larger picture a keeper crop was cut from). Removing it would lose that rest, so
        it is no removable copy; a flat frame around the keeper adds nothing and is."""
        r = self.relation
        return r is not None and r.holder == 2 and r.kind in ("cropped", "contains")

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "path": self.path,
            "similarity": round(self.similarity, 4),
            "method": self.method,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
        }
        if self.relation is not None:
            out["relation"] = self.relation.to_dict()
        return out


@dataclass
class Group:
    """Images that are copies of each other; ``keep`` is the suggested keeper."""

    keep: str
    reason: str  # in English; reason_key and reason_args translate it (reports/labels.py)
    members: list[Member] = field(default_factory=list)  # the keeper first, similarity 1.0
    reason_key: str = ""
    reason_args: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "keep": self.keep,
            "reason": self.reason,
            "reason_key": self.reason_key,
            "members": [m.to_dict() for m in self.members],
        }


@dataclass
class DuplicateReport:
    """The result of a duplicate search over a collection."""

    groups: list[Group] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    errors: list[Failure] = field(default_factory=list)
    scanned: int = 0
    stats: dict[str, object] = field(default_factory=dict)
    #: path -> hex BLAKE2b-128 of the bytes that were compared; actions re-check them
    digests: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``lookalike dupes --json``."""
        return {
            "groups": [g.to_dict() for g in self.groups],
            "pairs": [p.to_dict() for p in self.pairs],
            "errors": [e.to_dict() for e in self.errors],
            "scanned": self.scanned,
            "stats": self.stats,
        }
