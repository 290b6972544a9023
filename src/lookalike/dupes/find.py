"""Duplicates in collections: the layered detector (分层相似图片检测) end to end.

    scan -> cached features -> exact bytes -> candidates -> cascade -> groups

1. **scan** folders and zip archives; images are recognised by content;
2. **features** from the SQLite catalog, computed only for new or changed files;
3. **exact byte duplicates** from the catalog's digests, before any pixel is compared;
4. **candidates** without comparing all pairs: pHash radius search, the rotated and
   mirrored pHash codes (phash8), and TF-IDF visual words of ORB descriptors;
5. **the cascade** decides each candidate pair with the cheapest layer that can
   (:mod:`lookalike.match.cascade`): hashes, then colour + content fingerprint, then ORB keypoints
   verified by RANSAC; every reported pair names the layer and its score;
6. **groups** of copies, each with a suggested keeper (:mod:`lookalike.match.grouping`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from lookalike.dupes.records import DuplicateReport, Pair
from lookalike.errors import Failure
from lookalike.features import FeatureSet
from lookalike.features.cache import cached_features
from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.match.engine import layer_methods as engine_layers
from lookalike.match.engine import match_features
from lookalike.match.grouping import FileFacts, group_pairs
from lookalike.methods import Method
from lookalike.progress import Progress
from lookalike.sources.folders import Entry, scan
from lookalike.store.catalog import Catalog
from lookalike.store.verdicts import VerdictCache


@dataclass(frozen=True)
class DupesOptions:
    """How a duplicate search runs; the defaults suit photo libraries."""

    methods: tuple[str, ...] = DEFAULT_LAYERS
    #: Similarity (0..1) at which the hash layer alone calls a pair similar; None = 1 - 8/64.
    threshold: float | None = None
    recursive: bool = True
    jobs: int = 1
    #: Catalog file; None = the per-user cache; "" = a throw-away catalog for this run.
    cache: str | None = None


def layer_methods(options: DupesOptions) -> list[Method]:
    """The methods a duplicate search computes (:func:`lookalike.match.engine.layer_methods`)."""
    return engine_layers(options.methods, options.threshold)


def _open_catalog(cache: str | None, tmp: str) -> Catalog:
    if cache == "":
        return Catalog(os.path.join(tmp, "catalog.sqlite"))
    return Catalog(cache)


def find_duplicates(
    paths: Iterable[str | os.PathLike[str]],
    options: DupesOptions | None = None,
    *,
    progress: Progress | None = None,
) -> DuplicateReport:
    """Groups of images that are copies of each other under ``paths`` (files, folders, zips).

    ``progress(stage, done, total)`` is called while features are computed (stage
    "features") and while keypoint pairs are verified ("verifying").
    """
    options = options or DupesOptions()
    entries: list[Entry] = []
    failures: list[Failure] = []
    for item in scan(paths, recursive=options.recursive):
        (entries if isinstance(item, Entry) else failures).append(item)
    methods = layer_methods(options)
    with tempfile.TemporaryDirectory(prefix="lookalike-") as tmp:
        catalog = _open_catalog(options.cache, tmp)
        try:
            fs, stats = cached_features(
                entries, methods, catalog, jobs=options.jobs, progress=progress
            )
            digests = catalog.digests(fs.paths)
        finally:
            catalog.close()
        # verdicts of earlier runs: an unchanged folder is not verified again
        with VerdictCache(catalog.path) as verdicts:
            report = detect(
                fs,
                methods,
                digests,
                {e.path: e for e in entries},
                options.jobs,
                progress,
                verdicts=verdicts,
            )
    report.errors = failures + fs.failures
    report.scanned = len(entries) + len(failures)
    report.stats["cache"] = stats.to_dict()
    report.digests = digests
    return report


def detect(
    fs: FeatureSet,
    methods: Sequence[Method],
    digests: dict[str, str],
    entries: dict[str, Entry],
    jobs: int = 1,
    progress: Progress | None = None,
    *,
    verdicts: VerdictCache | None = None,
) -> DuplicateReport:
    """The matching engine over a computed feature set, then groups with keepers."""
    found = match_features(fs, methods, digests, jobs=jobs, progress=progress, verdicts=verdicts)
    paths = fs.paths
    n = len(paths)
    sizes = fs.features["aspect"] if n else np.zeros((0, 2))
    facts = []
    for k, p in enumerate(paths):
        e = entries.get(p)
        facts.append(
            FileFacts(
                width=int(sizes[k][0]),
                height=int(sizes[k][1]),
                bytes=e.size if e else 0,
                mtime=e.mtime_ns / 1e9 if e else 0.0,
            )
        )
    groups = group_pairs(
        paths, found.i, found.j, found.similarity, found.method, facts, found.verdict
    )
    report = DuplicateReport(
        groups=groups,
        pairs=[
            Pair(paths[a], paths[b], s, m, v)
            for a, b, s, m, v in zip(
                found.i.tolist(),
                found.j.tolist(),
                found.similarity.tolist(),
                found.method,
                found.verdict,
                strict=True,
            )
        ],
    )
    report.stats["decided_by"] = found.layer_counts
    report.stats["images"] = n
    return report
