"""Verified pairs -> groups of copies, each with a suggested keeper and the reason.

Connected components alone chain unrelated images through one bridge (A ~ B, B ~ C, but
A and C share nothing: a collage holding both, say). So a component is split into stars:
the best copy (by the keeper rule) among the images that still have a verified link is a
keeper, it and its direct neighbours form a group, and the rest of the component is
grouped again the same way. Every member of a group is directly similar to its keeper.

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


def group_pairs(
    paths: Sequence[str],
    i: np.ndarray,
    j: np.ndarray,
    similarity: np.ndarray,
    method: Sequence[str],
    facts: Sequence[FileFacts],
) -> list[Group]:
    """Groups from verified pairs ``(i[k], j[k])`` with their similarity and deciding method.

    Groups are sorted by size (largest first), then by the keeper's path.
    """
    n = len(paths)
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    similarity = np.asarray(similarity, dtype=np.float64)
    if len(i) == 0:
        return []
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    edge: dict[tuple[int, int], tuple[float, str]] = {}
    for a, b, s, m in zip(i.tolist(), j.tolist(), similarity.tolist(), method, strict=True):
        key = (min(a, b), max(a, b))
        if key not in edge or edge[key][0] < s:
            edge[key] = (s, m)
    neighbours: dict[int, set[int]] = {}
    for a, b in edge:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    groups: list[Group] = []
    nodes_by_label: dict[int, list[int]] = {}
    for node in sorted(neighbours):
        nodes_by_label.setdefault(int(labels[node]), []).append(node)
    for nodes in nodes_by_label.values():
        remaining = set(nodes)
        while True:
            linked = sorted(v for v in remaining if neighbours[v] & remaining)
            if not linked:
                break
            best, _ = choose_keeper([paths[v] for v in linked], [facts[v] for v in linked])
            keeper = linked[best]
            members = sorted({keeper} | (neighbours[keeper] & remaining))
            remaining -= set(members)
            groups.append(_group(members, keeper, paths, facts, edge))
    groups.sort(key=lambda g: (-len(g.members), g.keep))
    return groups


def _group(
    members: list[int],
    keeper: int,
    paths: Sequence[str],
    facts: Sequence[FileFacts],
    edge: dict[tuple[int, int], tuple[float, str]],
) -> Group:
    _, reason = choose_keeper([paths[m] for m in members], [facts[m] for m in members])
    out = []
    for v in [keeper, *[m for m in members if m != keeper]]:
        s, m = (1.0, "keeper") if v == keeper else edge[(min(v, keeper), max(v, keeper))]
        f = facts[v]
        out.append(Member(paths[v], s, m, f.width, f.height, f.bytes))
    return Group(keep=paths[keeper], reason=reason, members=out)
