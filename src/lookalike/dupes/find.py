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
from lookalike.match.candidates import dihedral_pairs, hash_pairs, word_pairs
from lookalike.match.cascade import DEFAULT_LAYERS, Score, decide, score_rows
from lookalike.match.grouping import FileFacts, group_pairs
from lookalike.match.verify import verify_pairs
from lookalike.methods import Method, get_method
from lookalike.methods.base import Thresholds

#: progress(stage, done, total)
from lookalike.progress import Progress
from lookalike.sources.folders import Entry, scan
from lookalike.store.catalog import Catalog

#: Hamming radius of the candidate search: pHash's uncertain band ends at 14 bits.
CANDIDATE_RADIUS = 14


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
    """The methods a run computes: the aspect ratio and phash8 always, then the layers."""
    names = list(dict.fromkeys(["aspect", "phash8", *options.methods]))
    methods = [get_method(n) for n in names]
    if options.threshold is not None:
        for m in methods:
            if m.name == "phash8":
                t = m.thresholds
                m.thresholds = Thresholds(  # type: ignore[misc]
                    similar=options.threshold, different=min(t.different, options.threshold)
                )
    return methods


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
    report = detect(fs, methods, digests, {e.path: e for e in entries}, options.jobs, progress)
    report.errors = failures + fs.failures
    report.scanned = len(entries) + len(failures)
    report.stats["cache"] = stats.to_dict()
    report.digests = digests
    return report


def _byte_pairs(paths: Sequence[str], digests: dict[str, str]) -> list[tuple[int, int]]:
    """Pairs (i < j) of files with the same bytes: each duplicate linked to the first."""
    first: dict[str, int] = {}
    pairs = []
    for i, p in enumerate(paths):
        d = digests.get(p)
        if d is None:
            continue
        if d in first:
            pairs.append((first[d], i))
        else:
            first[d] = i
    return pairs


def detect(
    fs: FeatureSet,
    methods: Sequence[Method],
    digests: dict[str, str],
    entries: dict[str, Entry],
    jobs: int = 1,
    progress: Progress | None = None,
) -> DuplicateReport:
    """The cascade over a computed feature set: candidates, decisions, groups."""
    by_name = {m.name: m for m in methods}
    paths = fs.paths
    n = len(paths)
    decided: dict[tuple[int, int], tuple[float, str, str]] = {}
    for i, j in _byte_pairs(paths, digests):
        decided[(i, j)] = (1.0, "bytes", "identical")
    layer_counts: dict[str, int] = {"bytes": len(decided)}

    # candidate pairs as arrays: O(n * k) of them (identical codes as stars), never O(n^2)
    found: list[tuple[np.ndarray, np.ndarray]] = []
    codes8 = by_name["phash8"].codes(fs.features["phash8"]) if n else None  # type: ignore[attr-defined]
    if n >= 2:
        i, j, _ = hash_pairs(codes8[:, 0, :], CANDIDATE_RADIUS)
        found.append((i, j))
        i, j, _ = dihedral_pairs(codes8, CANDIDATE_RADIUS)
        found.append((i, j))
        local = next((m for m in methods if m.kind == "pair"), None)
        if local is not None:
            feats = fs.features[local.name]
            i, j, _ = word_pairs(
                [f.descriptors for f in feats], [f.mirror_descriptors for f in feats]
            )
            found.append((i, j))
    pairs: list[tuple[int, int]] = []
    if found:
        i = np.concatenate([np.asarray(a, np.int64) for a, _ in found])
        j = np.concatenate([np.asarray(b, np.int64) for _, b in found])
        key = np.unique(np.minimum(i, j) * n + np.maximum(i, j))
        if decided:  # already decided (same bytes): not scored again
            done = np.fromiter((a * n + b for a, b in decided), np.int64, len(decided))
            key = key[~np.isin(key, done)]
        pairs = list(zip((key // n).tolist(), (key % n).tolist(), strict=True))
    layer_counts["candidates"] = len(pairs)
    if pairs:
        ia = np.array([p[0] for p in pairs])
        ib = np.array([p[1] for p in pairs])
        cheap = [m for m in methods if m.kind != "pair" and m.name != "aspect"]
        local = next((m for m in methods if m.kind == "pair"), None)
        rows: list[dict[str, Score]] = [{} for _ in pairs]
        for m in cheap:
            f = fs.features[m.name]
            for k, s in enumerate(score_rows(m, f[ia], f[ib])):
                rows[k][m.name] = s
        verdicts = [decide(r) for r in rows]
        if local is not None:
            todo = [k for k, (v, _) in enumerate(verdicts) if v == "different"]
            scores = verify_pairs(
                local, fs.features[local.name], [pairs[k] for k in todo], jobs, progress
            )
            for k, score in zip(todo, scores, strict=True):
                rows[k][local.name] = score
                verdicts[k] = decide(rows[k])
        for k, (a, b) in enumerate(pairs):
            verdict, by = verdicts[k]
            if verdict != "different":
                decided[(a, b)] = (rows[k][by].similarity, by, verdict)
                layer_counts[by] = layer_counts.get(by, 0) + 1
    keys = sorted(decided)
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
        paths,
        np.array([k[0] for k in keys], dtype=np.int64),
        np.array([k[1] for k in keys], dtype=np.int64),
        np.array([decided[k][0] for k in keys]),
        [decided[k][1] for k in keys],
        facts,
        [decided[k][2] for k in keys],
    )
    report = DuplicateReport(
        groups=groups,
        pairs=[
            Pair(paths[a], paths[b], decided[(a, b)][0], decided[(a, b)][1], decided[(a, b)][2])
            for a, b in keys
        ],
    )
    report.stats["decided_by"] = layer_counts
    report.stats["images"] = n
    return report
