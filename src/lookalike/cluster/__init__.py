"""Clusters of a collection: near-duplicates collapsed, then PCA and k-means of descriptors.

    scan -> duplicates (lookalike.dupes) -> one representative per group -> descriptors
    (embed with a model, else GIST) -> PCA -> k-means, k by silhouette -> clusters

1. **near-duplicates first**: :func:`lookalike.dupes.find.find_duplicates` groups copies
   with the matching engine (the same layers and catalog as ``lookalike dupes``); each group
   is represented by its keeper, so ten copies of one photo weigh as one picture;
2. **descriptors** of the representatives: the ``embed`` method when a model is given
   (learned, "same content"), else GIST (the scene's layout), from the same catalog;
3. **PCA** keeps the components that explain :data:`PCA_VARIANCE` of the variance
   (:func:`kmeans.pca`);
4. **k-means**, k chosen by the highest mean silhouette over ``2..k_max`` (or forced);
5. each representative's duplicates join its cluster. A cluster of one picture with no
   copies tells nothing: its file is **noise** (k-means itself has no noise).

A file that cannot be read is a failure with its reason, never a crash.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lookalike.cluster.kmeans import choose_k, kmeans, pca, silhouette
from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.errors import Failure, UsageError
from lookalike.features.cache import cached_features
from lookalike.methods import get_method
from lookalike.methods.base import Method
from lookalike.progress import Progress
from lookalike.sources.folders import Entry, scan
from lookalike.store.catalog import Catalog, open_catalog

#: Share of the variance the (whitened) PCA keeps. Measured on the corpus wallpapers with
#: GIST (the 38 originals, their dark recolourings and portrait crops: 51 pictures): at 90%
#: (22 components) the best silhouette is 0.11 (k = 14, four pictures alone); at 50%
#: (5 components) it is 0.42 at k = 10, clusters of 2 to 10. Without whitening the
#: silhouette prefers k = 2 (47 + 4: the four flattest designs split off).
PCA_VARIANCE = 0.5
#: Largest k tried when none is forced: about twice the square root of the pictures.
MAX_K = 30


@dataclass
class Cluster:
    """One cluster: its members (representatives and their duplicates), in path order."""

    id: int
    members: list[str] = field(default_factory=list)
    #: representative -> its duplicates (the keeper of a dupes group and its copies)
    copies: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ClusterReport:
    """What :func:`cluster_images` returns."""

    clusters: list[Cluster] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: "gist" or "embed"
    descriptor: str = ""
    k: int = 0
    silhouettes: dict[int, float] = field(default_factory=dict)
    images: int = 0
    representatives: int = 0
    components: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The shape of ``lookalike cluster --json``: clusters and noise, nothing else."""
        return {
            "clusters": [{"id": c.id, "members": c.members} for c in self.clusters],
            "noise": self.noise,
        }

    def assignments(self) -> list[tuple[str, int | None]]:
        """(path, cluster id or None for noise), cluster by cluster then the noise."""
        rows: list[tuple[str, int | None]] = [(p, c.id) for c in self.clusters for p in c.members]
        return rows + [(p, None) for p in self.noise]


def default_k_range(n: int) -> range:
    """k from 2 to about twice the square root of n (at most :data:`MAX_K`, below n)."""
    return range(2, max(2, min(MAX_K, round(2 * math.sqrt(n)), n - 1)) + 1)


def cluster_vectors(
    x: np.ndarray, *, k: int | None = None, seed: int = 0
) -> tuple[np.ndarray, int, dict[int, float], int]:
    """Labels of the rows of ``x`` after PCA: (labels, k, silhouette per k tried, components)."""
    n = len(x)
    if n == 0:
        return np.zeros(0, np.int64), 0, {}, 0
    reduced = pca(x, variance=PCA_VARIANCE)
    if k is not None:
        if not 1 <= k <= n:
            raise UsageError(f"--k {k}: there are {n} pictures after collapsing duplicates")
        labels = kmeans(reduced, k, seed=seed)[0]
        return labels, k, {k: silhouette(reduced, labels, seed=seed)}, reduced.shape[1]
    chosen, labels, scores = choose_k(reduced, default_k_range(n), seed=seed)
    return labels, chosen, scores, reduced.shape[1]


def cluster_images(
    paths: Iterable[str | os.PathLike[str]],
    *,
    method: Method | None = None,
    k: int | None = None,
    dupes: DupesOptions | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> ClusterReport:
    """Cluster the images under ``paths`` (files, folders, zips); see the module docstring.

    ``method``: the descriptor, e.g. ``get_method("embed", model=PATH)`` (default GIST).
    ``k``: force the number of clusters. ``dupes``: how duplicates are found (its
    ``cache`` holds the descriptors too; "" = a throw-away catalog).
    """
    paths = list(paths)
    options = dupes or DupesOptions()
    method = method or get_method("gist")
    entries: dict[str, Entry] = {}
    failures: dict[str, Failure] = {}
    for item in scan(paths, recursive=options.recursive, filters=options.filters):
        if isinstance(item, Entry):
            entries.setdefault(item.path, item)
        else:
            failures[item.path] = item
    found = find_duplicates(paths, options, progress=progress)
    for f in found.errors:
        failures.setdefault(f.path, f)
    copies: dict[str, list[str]] = {}
    grouped: set[str] = set()
    for g in found.groups:
        others = [m.path for m in g.members if m.path != g.keep]
        copies[g.keep] = sorted(others)
        grouped.update(m.path for m in g.members)
    reps = [
        e for p, e in entries.items() if p not in failures and (p in copies or p not in grouped)
    ]
    with tempfile.TemporaryDirectory(prefix="lookalike-") as tmp:
        cache = options.cache
        catalog = (
            Catalog(os.path.join(tmp, "catalog.sqlite")) if cache == "" else open_catalog(cache)
        )
        try:
            fs, _ = cached_features(reps, [method], catalog, jobs=options.jobs, progress=progress)
        finally:
            catalog.close()
    for f in fs.failures:
        failures.setdefault(f.path, f)
    x = np.asarray(fs.features[method.name], np.float64).reshape(len(fs.paths), -1)
    labels, chosen, scores, components = cluster_vectors(x, k=k, seed=seed)
    report = ClusterReport(
        failures=sorted(failures.values(), key=lambda f: f.path),
        descriptor=method.name,
        k=chosen,
        silhouettes=scores,
        images=len(entries) - len(failures.keys() & entries.keys()),
        representatives=len(fs.paths),
        components=components,
    )
    by_label: dict[int, list[str]] = {}
    for path, label in zip(fs.paths, labels.tolist(), strict=True):
        by_label.setdefault(int(label), []).append(path)
    kept: list[list[str]] = []
    for label in sorted(by_label):
        group = by_label[label]
        if len(group) == 1 and not copies.get(group[0]):
            report.noise.append(group[0])
        else:
            kept.append(group)
    kept.sort(key=lambda g: (-sum(1 + len(copies.get(p, [])) for p in g), min(g)))
    for i, group in enumerate(kept):
        members = sorted(p for r in group for p in (r, *copies.get(r, [])))
        report.clusters.append(
            Cluster(i, members, {r: copies[r] for r in sorted(group) if copies.get(r)})
        )
    report.noise.sort()
    return report
