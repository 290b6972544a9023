"""Verified pairs -> groups of copies, each with a suggested keeper and the reason.

Connected components alone chain unrelated images through one bridge (A ~ B, B ~ C, but
A and C share nothing: a collage holding both, say). So a component is split into stars:
the best copy (by the keeper rule) among the images that still have a verified link is a
keeper, it and its direct neighbours form a group, and the rest of the component is
grouped again the same way. Every member of a group is directly similar to its keeper,
or to a copy the cascade called identical to it: identical copies are merged first, so
pairs linking each copy to one of them (a star) are enough.

The keeper of a group is the best copy to keep (:class:`KeeperRule`): by default the
original -- colour over greyscale, upright over rotated or mirrored, not upscaled, not a
screenshot, frame or paste that shows another copy shrunk, the original format over a
conversion, then the highest resolution, camera metadata, the
largest file, the oldest, the first path (so the choice is deterministic). A file marked
"keep" and a file in a reference folder come first.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lookalike.dupes.records import Group, Member
from lookalike.match.relation import PairRelation


@dataclass(frozen=True)
class FileFacts:
    """What the keeper rule needs to know about one image.

    The measured signs of processing (:mod:`lookalike.dupes.facts`) default to "not seen",
    so facts that hold only the size, bytes and time rank as before.
    """

    width: int = 0
    height: int = 0
    bytes: int = 0
    mtime: float = 0.0
    #: greyscale: no colour in the decoded pixels, and a copy in colour exists (``dupes``
    #: clears it for a black-and-white picture whose only colour partners hold it in a
    #: coloured frame or page: :func:`lookalike.dupes.find.grey_copies`)
    grey: bool = False
    #: rotated or mirrored against most of the copies it matched (phash8 needed a turn)
    turned: bool = False
    #: stretched: another aspect ratio than most of the copies it matched whole
    #: (:func:`lookalike.dupes.facts.stretched_flags`)
    stretched: bool = False
    #: upscaled: halving it loses almost nothing (see :mod:`lookalike.dupes.facts`)
    upscaled: bool = False
    #: a lossless file (PNG, BMP, TIFF) whose pixels carry a JPEG's 8x8 block grid
    converted: bool = False
    #: camera metadata: EXIF Make, Model or DateTimeOriginal
    camera: bool = False
    #: all four corners hold one flat fill around a detailed picture: the canvas a copy
    #: turned by a small angle (or framed) leaves behind
    filled_corners: bool = False
    #: it shows another file's picture shrunk (a screenshot, frame or paste of it: see
    #: :attr:`lookalike.match.relation.PairRelation.scale`), so that file is the original
    holds_smaller: bool = False
    format: str = ""


#: Relations that make two files the same picture (merged before the star groups form)...
SAME_PICTURE = ("identical bytes", "recompressed", "resized")
#: ... at this calibrated similarity or more: a re-encode within 5 pHash bits
#: (:data:`lookalike.match.relation.BANDS`), so a burst of similar shots of one size, each
#: a few bits from the next, does not chain into one picture ...
SAME_PICTURE_AT = 0.98
#: ... and a resize (the sizes differ, as a burst's shots do not) at any distance the hash
#: calls similar (its band's floor). It used to need 2 bits: a copy stretched to another
#: aspect (a resize 4-8 bits away) then won the keeper rule on resolution and its star
#: left out the copies verified only against the source. Measured: global edits of the
#: corpus grouped with their source 0.927 -> 0.944, held out 0.859 -> 0.863 (centre crops
#: 0.931 -> 0.966), no group took a member of another source in either.
RESIZED_SAME_AT = 0.95
_SAME_AT = dict.fromkeys(SAME_PICTURE, SAME_PICTURE_AT) | {"resized": RESIZED_SAME_AT}

#: Keeper rules (``--keep``); "path:GLOB" takes a glob after the colon.
RULES = ("original", "largest", "oldest", "newest", "path:GLOB")


@dataclass(frozen=True)
class KeeperRule:
    """Which copy of a group to keep.

    ``name``: "original" (the copy with the most of the picture and the least processing:
    colour over greyscale, upright over turned, not upscaled, original format over a
    conversion, then resolution, camera metadata, size, age), "largest" (resolution, size,
    age), "oldest", "newest", or "path" (paths matching ``glob`` first, then "original").
    Before any rule: a file in ``kept`` (marked "keep"), then one under ``reference``
    folders (``--keep-in``) is the keeper.
    """

    name: str = "original"
    glob: str = ""
    kept: frozenset[str] = frozenset()
    reference: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, **kw: object) -> KeeperRule:
        """ "original", "largest", "oldest", "newest" or "path:GLOB"; ValueError otherwise."""
        name, sep, glob = text.partition(":")
        if name == "path" and sep and glob:
            return cls("path", glob, **kw)  # type: ignore[arg-type]
        if name in ("original", "largest", "oldest", "newest") and not sep:
            return cls(name, **kw)  # type: ignore[arg-type]
        raise ValueError(f"unknown keeper rule {text!r}: use one of {', '.join(RULES)}")

    def _in_reference(self, path: str) -> bool:
        import os

        real = os.path.realpath(path.split("!//", 1)[0])
        return any(
            real == r or real.startswith(r.rstrip(os.sep) + os.sep)
            for r in (os.path.realpath(x) for x in self.reference)
        )

    def criteria(self, path: str, f: FileFacts) -> list[tuple[str, object]]:
        """(criterion, value) pairs, compared in order: the smallest value wins."""
        area = f.width * f.height
        head: list[tuple[str, object]] = [
            ("marked", path not in self.kept),
            ("reference", not self._in_reference(path)) if self.reference else ("reference", 0),
        ]
        # Uncropped before upright: a crop has fewer pixels than its source (enlargements
        # are caught first), while "turned" is a vote among the copies a picture matched,
        # which a group of mostly turned copies can win against the original.
        original: list[tuple[str, object]] = [
            ("colour", f.grey),
            ("not_upscaled", f.upscaled),
            ("upright", f.filled_corners),  # a canvas around the picture: framed or tilted
            ("not_composite", f.holds_smaller),  # another copy shrunk into a new canvas
            ("not_stretched", f.stretched),  # its copies mostly keep another aspect
            ("resolution", -area),
            ("upright", f.turned),
            ("original_format", f.converted),
            ("camera", not f.camera),
            ("largest", -f.bytes),
            ("oldest", f.mtime),
        ]
        if self.name == "largest":
            body: list[tuple[str, object]] = [
                ("resolution", -area),
                ("largest", -f.bytes),
                ("oldest", f.mtime),
            ]
        elif self.name == "oldest":
            body = [("oldest_rule", f.mtime), ("resolution", -area), ("largest", -f.bytes)]
        elif self.name == "newest":
            body = [("newest_rule", -f.mtime), ("resolution", -area), ("largest", -f.bytes)]
        elif self.name == "path":
            body = [("path_glob", not fnmatch.fnmatchcase(path, self.glob)), *original]
        else:
            body = original
        return [*head, *body, ("first", path)]

    def key(self, path: str, f: FileFacts) -> tuple[object, ...]:
        """Sort key: the best copy first."""
        return tuple(v for _, v in self.criteria(path, f))

    def reason(self, best: tuple[str, FileFacts], runner: tuple[str, FileFacts] | None) -> Reason:
        """Why ``best`` beat ``runner``: the first criterion where they differ."""
        if runner is None:
            return Reason("only")
        f = best[1]
        for (name, a), (_, b) in zip(self.criteria(*best), self.criteria(*runner), strict=True):
            if a != b:
                if name == "resolution":
                    return Reason(name, {"w": f.width, "h": f.height})
                if name == "largest":
                    return Reason(name, {"n": f"{f.bytes:,}"})
                if name == "original_format":
                    return Reason(name, {"fmt": f.format.upper() or "?"})
                if name == "path_glob":
                    return Reason(name, {"glob": self.glob})
                return Reason(name)
        return Reason("first")


@dataclass(frozen=True)
class Reason:
    """Why a keeper was chosen: a key of :data:`lookalike.reports.labels.KEEPER_REASONS`
    and its fields; ``str()`` is the English."""

    key: str
    args: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        from lookalike.reports.labels import keeper_reason

        return keeper_reason(self.key, "en", **self.args)


ORIGINAL = KeeperRule()


def choose_keeper(
    paths: Sequence[str], facts: Sequence[FileFacts], rule: KeeperRule = ORIGINAL
) -> tuple[int, str]:
    """Index of the copy to keep among ``paths`` and the reason, in words."""
    k, why = choose_keeper_reason(paths, facts, rule)
    return k, str(why)


def choose_keeper_reason(
    paths: Sequence[str], facts: Sequence[FileFacts], rule: KeeperRule = ORIGINAL
) -> tuple[int, Reason]:
    """Index of the copy to keep and the :class:`Reason` (translatable)."""
    order = sorted(range(len(paths)), key=lambda k: rule.key(paths[k], facts[k]))
    best, runner = order[0], order[1] if len(order) > 1 else None
    why = rule.reason(
        (paths[best], facts[best]),
        None if runner is None else (paths[runner], facts[runner]),
    )
    return best, why


def same_picture_pairs(
    similarity: np.ndarray,
    verdict: Sequence[str] | None = None,
    relation: Sequence[PairRelation | None] | None = None,
) -> np.ndarray:
    """Which pairs join copies of one picture: the cascade called them identical, or they
    are re-encoded (:data:`SAME_PICTURE_AT`) or resized (:data:`RESIZED_SAME_AT`) copies."""
    similarity = np.asarray(similarity, dtype=np.float64)
    same = (
        np.zeros(len(similarity), bool) if verdict is None else np.asarray(verdict) == "identical"
    )
    if relation is not None:  # re-encoded or resized within a few bits: the same picture
        at = [np.inf if r is None else _SAME_AT.get(r.kind, np.inf) for r in relation]
        same |= similarity >= np.array(at, np.float64)
    return same


def picture_classes(n: int, i: np.ndarray, j: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Each image's class (a label per image): the images joined by ``same`` pairs."""
    i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
    graph = coo_matrix((np.ones(int(same.sum())), (i[same], j[same])), shape=(n, n))
    return connected_components(graph, directed=False)[1]  # type: ignore[no-any-return]


def group_pairs(
    paths: Sequence[str],
    i: np.ndarray,
    j: np.ndarray,
    similarity: np.ndarray,
    method: Sequence[str],
    facts: Sequence[FileFacts],
    verdict: Sequence[str] | None = None,
    rule: KeeperRule = ORIGINAL,
    relation: Sequence[PairRelation] | None = None,
) -> list[Group]:
    """Groups from verified pairs ``(i[k], j[k])`` with their similarity and deciding method.

    Pairs whose ``verdict`` is "identical", or whose ``relation`` is a re-encoded copy at
    :data:`SAME_PICTURE_AT` or more or a resized one at :data:`RESIZED_SAME_AT` or more,
    join the same picture: such copies are merged
    first (transitively), so a folder of identical files linked as a star around one of
    them is one group whatever copy the keeper rule picks. Work is linear in the pairs.
    ``relation``: each pair's relation (image 1 = ``i``); a member carries the score and
    relation of its own pair with the keeper where there is one, else of the link that
    joined it, turned to read keeper first.
    Groups are sorted by size (largest first), then by the keeper's path.
    """
    n = len(paths)
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    similarity = np.asarray(similarity, dtype=np.float64)
    if len(i) == 0:
        return []
    same = same_picture_pairs(similarity, verdict, relation)
    cls = picture_classes(n, i, j, same)
    rels: Sequence[PairRelation | None] = [None] * len(i) if relation is None else relation
    same_method: dict[int, tuple[float, str, PairRelation | None]] = {}
    edge: dict[tuple[int, int], tuple[float, str, PairRelation | None, int]] = {}
    # every verified pair, so a member reads its own pair with the keeper where there is one
    direct: dict[tuple[int, int], tuple[float, str, PairRelation | None]] = {}
    for a, b, s, m, ident, r in zip(
        i.tolist(), j.tolist(), similarity.tolist(), method, same.tolist(), rels, strict=True
    ):
        direct[(a, b)] = (s, m, r)
        direct[(b, a)] = (s, m, r.swapped() if r is not None else None)
        if ident:
            same_method.setdefault(a, (s, m, r))
            same_method.setdefault(b, (s, m, r))
            continue
        ca, cb = int(cls[a]), int(cls[b])
        if ca == cb:
            continue
        key = (min(ca, cb), max(ca, cb))
        if key not in edge or edge[key][0] < s:
            edge[key] = (s, m, r, ca)  # ca: the class of image 1 of the relation
    nodes_of: dict[int, list[int]] = {}
    for v in sorted(set(i.tolist()) | set(j.tolist())):
        nodes_of.setdefault(int(cls[v]), []).append(v)
    neighbours: dict[int, set[int]] = {c: set() for c in nodes_of}
    for a, b in edge:
        neighbours[a].add(b)
        neighbours[b].add(a)
    degree = {c: len(nb) for c, nb in neighbours.items()}
    removed: set[int] = set()
    groups: list[Group] = []
    # the best remaining copy that still has a link is the next keeper: one pass in
    # keeper order, as links only ever disappear
    order = sorted(
        (v for vs in nodes_of.values() for v in vs),
        key=lambda v: rule.key(paths[v], facts[v]),
    )
    for keeper in order:
        c = int(cls[keeper])
        if c in removed or (degree[c] == 0 and len(nodes_of[c]) == 1):
            continue
        taken = [c, *sorted(x for x in neighbours[c] if x not in removed)]
        removed.update(taken)
        for x in taken:
            for y in neighbours[x]:
                if y not in removed:
                    degree[y] -= 1
        link: dict[int, tuple[float, str, PairRelation | None]] = {}
        for v in nodes_of[c]:  # the same picture as the keeper: its own pair's score
            link[v] = same_method.get(v, (1.0, "identical", None))
        for x in taken[1:]:
            s, m, r, first = edge[(min(c, x), max(c, x))]
            if r is not None and first != c:  # read it keeper first
                r = r.swapped()
            for v in nodes_of[x]:
                link[v] = (s, m, r)
        for v in link:  # a pair of its own with the keeper says it best
            if (keeper, v) in direct:
                link[v] = direct[(keeper, v)]
        groups.append(_group(sorted(link), keeper, paths, facts, link, rule))
    groups.sort(key=lambda g: (-len(g.members), g.keep))
    return groups


def _group(
    members: list[int],
    keeper: int,
    paths: Sequence[str],
    facts: Sequence[FileFacts],
    link: dict[int, tuple[float, str, PairRelation | None]],
    rule: KeeperRule,
) -> Group:
    _, why = choose_keeper_reason([paths[m] for m in members], [facts[m] for m in members], rule)
    out = []
    for v in [keeper, *[m for m in members if m != keeper]]:
        s, m, r = (1.0, "keeper", None) if v == keeper else link[v]
        f = facts[v]
        out.append(Member(paths[v], s, m, f.width, f.height, f.bytes, r))
    return Group(
        keep=paths[keeper], reason=str(why), members=out, reason_key=why.key, reason_args=why.args
    )


#: How far (in verified links) a group's keeper looks for copies it is not linked to
#: directly, and how many it checks per round: a strong edit is often verified only
#: against a milder edit of the same picture, never against the source itself.
REACH_HOPS = 3
REACH_CAP = 64


def unlinked_reach(
    n: int,
    i: np.ndarray,
    j: np.ndarray,
    keepers: Sequence[int],
    *,
    hops: int = REACH_HOPS,
    cap: int = REACH_CAP,
) -> list[tuple[int, int]]:
    """Pairs (keeper, v): ``v`` is within ``hops`` verified links of a keeper but not
    linked to it directly -- the pairs a star group needs checked to take in copies that
    only chain to its keeper. Nearest first, at most ``cap`` per keeper."""
    if len(i) == 0:
        return []
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    adj = coo_matrix((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    out: list[tuple[int, int]] = []
    for k in keepers:
        direct = set(adj.indices[adj.indptr[k] : adj.indptr[k + 1]].tolist())
        seen = {k, *direct}
        frontier = direct
        found: list[int] = []
        for _ in range(hops - 1):
            nxt: set[int] = set()
            for v in sorted(frontier):
                nxt.update(adj.indices[adj.indptr[v] : adj.indptr[v + 1]].tolist())
            nxt -= seen
            seen |= nxt
            found.extend(sorted(nxt))
            frontier = nxt
            if len(found) >= cap or not frontier:
                break
        out.extend((k, v) for v in found[:cap])
    return out
