"""Verified pairs -> groups of copies, each with a suggested keeper and the reason.

Connected components alone chain unrelated images through one bridge (A ~ B, B ~ C, but
A and C share nothing: a collage holding both, say). So a component is split into stars:
the best copy (by the keeper rule) among the images that still have a verified link is a
keeper, it and its direct neighbours form a group, and the rest of the component is
grouped again the same way. Every member of a group is directly similar to its keeper,
or to a copy the cascade called identical to it: identical copies are merged first, so
pairs linking each copy to one of them (a star) are enough.

The keeper of a group is the best copy to keep: the highest resolution, then the largest
file, then the oldest, then the first path (so the choice is deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lookalike.dupes.records import Group, Member


@dataclass(frozen=True)
class FileFacts:
    """What the keeper rule needs to know about one image."""

    width: int = 0
    height: int = 0
    bytes: int = 0
    mtime: float = 0.0


def choose_keeper(paths: Sequence[str], facts: Sequence[FileFacts]) -> tuple[int, str]:
    """Index of the copy to keep among ``paths`` and the reason, in words."""
    order = sorted(
        range(len(paths)),
        key=lambda k: (
            -facts[k].width * facts[k].height,
            -facts[k].bytes,
            facts[k].mtime,
            paths[k],
        ),
    )
    best, runner = order[0], order[1] if len(order) > 1 else None
    f = facts[best]
    if runner is None:
        return best, "only image"
    g = facts[runner]
    if f.width * f.height != g.width * g.height:
        return best, f"highest resolution ({f.width}x{f.height})"
    if f.bytes != g.bytes:
        return best, f"same resolution, largest file ({f.bytes:,} bytes)"
    if f.mtime != g.mtime:
        return best, "same resolution and size, oldest file"
    return best, "same resolution, size and age: first path"


def _keeper_key(path: str, f: FileFacts) -> tuple[int, int, float, str]:
    """Sort key of the keeper rule: the best copy first."""
    return (-f.width * f.height, -f.bytes, f.mtime, path)


def group_pairs(
    paths: Sequence[str],
    i: np.ndarray,
    j: np.ndarray,
    similarity: np.ndarray,
    method: Sequence[str],
    facts: Sequence[FileFacts],
    verdict: Sequence[str] | None = None,
) -> list[Group]:
    """Groups from verified pairs ``(i[k], j[k])`` with their similarity and deciding method.

    Pairs whose ``verdict`` is "identical" join the same picture: such copies are merged
    first (transitively), so a folder of identical files linked as a star around one of
    them is one group whatever copy the keeper rule picks. Work is linear in the pairs.
    Groups are sorted by size (largest first), then by the keeper's path.
    """
    n = len(paths)
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    similarity = np.asarray(similarity, dtype=np.float64)
    if len(i) == 0:
        return []
    same = np.zeros(len(i), bool) if verdict is None else np.asarray(verdict) == "identical"
    graph = coo_matrix((np.ones(int(same.sum())), (i[same], j[same])), shape=(n, n))
    _, cls = connected_components(graph, directed=False)  # copies of one picture
    same_method: dict[int, str] = {}
    edge: dict[tuple[int, int], tuple[float, str]] = {}
    for a, b, s, m, ident in zip(
        i.tolist(), j.tolist(), similarity.tolist(), method, same.tolist(), strict=True
    ):
        if ident:
            same_method.setdefault(a, m)
            same_method.setdefault(b, m)
            continue
        ca, cb = int(cls[a]), int(cls[b])
        if ca == cb:
            continue
        key = (min(ca, cb), max(ca, cb))
        if key not in edge or edge[key][0] < s:
            edge[key] = (s, m)
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
        key=lambda v: _keeper_key(paths[v], facts[v]),
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
        link: dict[int, tuple[float, str]] = {}
        for v in nodes_of[c]:
            link[v] = (1.0, same_method.get(v, "identical"))
        for x in taken[1:]:
            s_m = edge[(min(c, x), max(c, x))]
            for v in nodes_of[x]:
                link[v] = s_m
        groups.append(_group(sorted(link), keeper, paths, facts, link))
    groups.sort(key=lambda g: (-len(g.members), g.keep))
    return groups


def _group(
    members: list[int],
    keeper: int,
    paths: Sequence[str],
    facts: Sequence[FileFacts],
    link: dict[int, tuple[float, str]],
) -> Group:
    _, reason = choose_keeper([paths[m] for m in members], [facts[m] for m in members])
    out = []
    for v in [keeper, *[m for m in members if m != keeper]]:
        s, m = (1.0, "keeper") if v == keeper else link[v]
        f = facts[v]
        out.append(Member(paths[v], s, m, f.width, f.height, f.bytes))
    return Group(keep=paths[keeper], reason=reason, members=out)
