"""The matching engine: one way, for every command, to turn features into verified pairs.

    features -> exact bytes -> candidate pairs -> cascade (cheap layers) -> keypoints -> pairs

1. **exact byte duplicates** from the digests, before any pixel is compared;
2. **candidates** without comparing all pairs (:mod:`lookalike.match.candidates`): the pHash
   radius search, the rotated and mirrored pHash codes (phash8), the region codes
   (:mod:`lookalike.methods.regions`: the picture trimmed of frames and title bars, its
   crops and small rotations) and TF-IDF visual words of ORB descriptors; identical codes
   are stars and each code keeps its k nearest, so the pairs grow with the images, not
   with the square of the largest group;
3. **the cascade** (:mod:`lookalike.match.cascade`) decides each candidate with the
   cheapest layer that can: hashes, then colour + content fingerprint, then (when the
   ``embed`` layer runs) the learned descriptors, which call far-apart pairs different,
   then ORB keypoints verified by RANSAC in worker processes (:mod:`lookalike.match.verify`).

``lookalike dupes`` groups the pairs; ``lookalike docs`` keeps those between documents'
pictures. Every pair names the layer that decided it and its score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lookalike.engines import Executor
from lookalike.features import FeatureSet
from lookalike.features.cache import method_key
from lookalike.match.candidates import dihedral_pairs, hash_pairs, region_pairs, word_pairs
from lookalike.match.cascade import (
    Score,
    decide,
    score_rows,
    weak_hash,
)
from lookalike.match.relation import (
    FRAME_BITS,
    PairRelation,
    calibrated_similarity,
    flip_geometry,
    grey_histograms,
    name_relation,
)
from lookalike.match.verify import verify_pairs
from lookalike.methods import Method, get_method
from lookalike.methods.base import Thresholds, hamming
from lookalike.progress import Progress
from lookalike.store.vectors import vector_pairs
from lookalike.store.verdicts import VerdictCache

__all__ = [
    "CANDIDATE_LAYERS",
    "CANDIDATE_RADIUS",
    "EMBED_CANDIDATE",
    "EMBED_DIFFERENT",
    "EMBED_NEIGHBOURS",
    "LOCAL_CANDIDATES",
    "REGION_RADIUS",
    "Matches",
    "candidate_pairs",
    "layer_methods",
    "match_features",
    "match_pairs",
]

#: Hamming radius of the candidate search: where pHash's uncertain band ends (derived
#: from pHash's own thresholds, never restated).
CANDIDATE_RADIUS: int = get_method("phash").distance_thresholds()[1]  # type: ignore[attr-defined]
#: Hamming radius of the region-code search (:func:`~lookalike.match.candidates.region_pairs`):
#: tighter than pHash's, because each image sends 12 codes (measured in docs/accuracy.md,
#: "Candidate recall").
REGION_RADIUS: int = 12
#: Candidate finders every run computes, beside the layers asked for.
CANDIDATE_LAYERS: tuple[str, ...] = ("aspect", "phash8")
#: Candidate finders computed only when a keypoint layer (orb, sift) is asked for: they
#: propose crops, frames and turned copies that only keypoints can confirm.
LOCAL_CANDIDATES: tuple[str, ...] = ("regions",)
#: Least cosine of the learned descriptors (the ``embed`` layer) for a candidate pair, and
#: how many nearest neighbours each picture proposes: measured on the corpus attack
#: benchmark (docs/accuracy.md, "The embed layer"), never on the held-out benchmark.
EMBED_CANDIDATE: float = 0.5
EMBED_NEIGHBOURS: int = 16
#: Below this cosine of the learned descriptors a pair is "different" without keypoint
#: verification: on the corpus attack benchmark 1 of 3,927 pairs keypoints verified as
#: copies lies below it (docs/accuracy.md, "The embed layer").
EMBED_DIFFERENT: float = 0.25
_LOCAL_LAYERS = ("orb", "sift")


@dataclass
class Matches:
    """Verified pairs ``(i[k], j[k])`` (i < j, row numbers of the feature set), each with
    its calibrated similarity (:mod:`lookalike.match.relation`), the deciding method, the
    verdict and the relation, and how many each layer decided."""

    i: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    j: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    similarity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    method: list[str] = field(default_factory=list)
    verdict: list[str] = field(default_factory=list)
    relation: list[PairRelation] = field(default_factory=list)
    layer_counts: dict[str, int] = field(default_factory=dict)


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


def layer_methods(
    layers: Sequence[str], threshold: float | None = None, *, model: str | None = None
) -> list[Method]:
    """The methods a run computes: :data:`CANDIDATE_LAYERS` always, then ``layers``, and
    :data:`LOCAL_CANDIDATES` when a keypoint layer is among them.

    ``threshold`` (similarity 0..1) moves where the hash layer alone calls a pair similar
    (default pHash's own 1 - 8/64). ``model``: the ONNX file of the ``embed`` layer
    (added when given; default: the shipped model when ``layers`` names embed).
    """
    local = [c for c in LOCAL_CANDIDATES if any(n in _LOCAL_LAYERS for n in layers)]
    names = list(dict.fromkeys([*CANDIDATE_LAYERS, *local, *layers, *(["embed"] if model else [])]))
    methods = [get_method(n, model=model) if n == "embed" else get_method(n) for n in names]
    if threshold is not None:
        for m in methods:
            if m.name == "phash8":
                t = m.thresholds
                m.thresholds = Thresholds(similar=threshold, different=min(t.different, threshold))
    return methods


def candidate_pairs(
    fs: FeatureSet, methods: Sequence[Method], *, regions: bool = True, embed: bool = True
) -> np.ndarray:
    """Candidate pairs as one sorted array of keys ``i * n + j`` (i < j), each once.

    Sources: pHash within :data:`CANDIDATE_RADIUS`, phash8's rotated / mirrored codes,
    the region codes within :data:`REGION_RADIUS` (when computed and ``regions``), the
    visual words of the keypoint method (when computed), and the learned descriptors'
    :data:`EMBED_NEIGHBOURS` nearest within :data:`EMBED_CANDIDATE` (when the ``embed``
    layer was computed and ``embed``).
    """
    n = len(fs.paths)
    if n < 2:
        return np.zeros(0, np.int64)
    by_name = {m.name: m for m in methods}
    codes8 = by_name["phash8"].codes(fs.features["phash8"])  # type: ignore[attr-defined]
    found = [hash_pairs(codes8[:, 0, :], CANDIDATE_RADIUS)[:2]]
    found.append(dihedral_pairs(codes8, CANDIDATE_RADIUS)[:2])
    if regions and "regions" in by_name and "regions" in fs.features:
        codes = by_name["regions"].codes(fs.features["regions"])  # type: ignore[attr-defined]
        found.append(region_pairs(codes, REGION_RADIUS))
    local = next((m for m in methods if m.kind == "pair"), None)
    if local is not None:
        feats = fs.features[local.name]
        found.append(
            word_pairs([f.descriptors for f in feats], [f.mirror_descriptors for f in feats])[:2]
        )
    if embed and "embed" in by_name and "embed" in fs.features:
        found.append(vector_pairs(fs.features["embed"], EMBED_CANDIDATE, k=EMBED_NEIGHBOURS)[:2])
    i = np.concatenate([np.asarray(a, np.int64) for a, _ in found])
    j = np.concatenate([np.asarray(b, np.int64) for _, b in found])
    return np.unique(np.minimum(i, j) * n + np.maximum(i, j))


#: Bumped when a change of the engine changes what a verification decides.
ENGINE_VERSION = 10


def _verify(
    local: Method,
    fs: FeatureSet,
    pairs: Sequence[tuple[int, int]],
    todo: Sequence[int],
    digests: dict[str, str],
    jobs: int,
    progress: Progress | None,
    cache: VerdictCache | None,
    executor: Executor | None = None,
) -> list[Score]:
    """Keypoint scores of ``pairs[k]`` for k in ``todo``: from the cache, else verified."""
    paths = fs.paths
    keys = [(digests.get(paths[pairs[k][0]]), digests.get(paths[pairs[k][1]])) for k in todo]
    scope = f"engine{ENGINE_VERSION}:{method_key(local)}"
    known = cache.get([(a, b) for a, b in keys if a and b], scope) if cache is not None else {}
    out: list[Score | None] = []
    missing: list[int] = []
    for pos, (a, b) in enumerate(keys):
        hit = known.get((a, b)) if a and b else None
        if hit is not None and a and b and a > b:  # stored as seen from the smaller digest
            hit = (*hit[:4], flip_geometry(hit[4]))
        out.append(None if hit is None else Score(local.name, *hit))
        if hit is None:
            missing.append(pos)
    fresh = verify_pairs(
        local,
        fs.features[local.name],
        [pairs[todo[p]] for p in missing],
        jobs,
        progress,
        executor,
    )
    rows = []
    for pos, score in zip(missing, fresh, strict=True):
        out[pos] = score
        a, b = keys[pos]
        if a and b:
            g = flip_geometry(score.geometry) if a > b else score.geometry
            rows.append((a, b, score.distance, score.similarity, score.verdict, score.relation, g))
    if cache is not None and rows:
        cache.put(rows, scope)
    return [s for s in out if s is not None]


def match_features(
    fs: FeatureSet,
    methods: Sequence[Method],
    digests: dict[str, str],
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    verdicts: VerdictCache | None = None,
    executor: Executor | None = None,
) -> Matches:
    """Every pair of ``fs`` the engine calls alike (see the module docstring).

    ``verdicts``: a cache of keypoint verifications by digest pair; pairs it holds are not
    verified again, and new verifications are added to it. ``executor``: where keypoints
    are verified (default ``jobs`` local processes, :mod:`lookalike.engines`).
    """
    n = len(fs.paths)
    decided: dict[tuple[int, int], tuple[str, str, dict[str, Score]]] = {}
    for a, b in _byte_pairs(fs.paths, digests):
        decided[(a, b)] = ("bytes", "identical", {})
    layer_counts: dict[str, int] = {"bytes": len(decided)}
    key = candidate_pairs(fs, methods)
    if decided and len(key):  # already decided (same bytes): not scored again
        done = np.fromiter((a * n + b for a, b in decided), np.int64, len(decided))
        key = key[~np.isin(key, done)]
    pairs = list(zip((key // max(n, 1)).tolist(), (key % max(n, 1)).tolist(), strict=True))
    layer_counts["candidates"] = len(pairs)
    _cascade(fs, methods, pairs, digests, decided, layer_counts, jobs, progress, verdicts, executor)
    return _matches(fs, methods, decided, layer_counts)


def match_pairs(
    fs: FeatureSet,
    methods: Sequence[Method],
    digests: dict[str, str],
    pairs: Sequence[tuple[int, int]],
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    verdicts: VerdictCache | None = None,
    executor: Executor | None = None,
) -> Matches:
    """The pairs among ``pairs`` (row numbers, either order) the engine calls alike:
    the same cascade as :func:`match_features`, on pairs a caller proposes instead of the
    candidate search (a group's keeper against the copies it reaches only through
    others, say). Same bytes are decided from the digests."""
    decided: dict[tuple[int, int], tuple[str, str, dict[str, Score]]] = {}
    todo = []
    for a, b in sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b}):
        da, db = digests.get(fs.paths[a]), digests.get(fs.paths[b])
        if da is not None and da == db:
            decided[(a, b)] = ("bytes", "identical", {})
        else:
            todo.append((a, b))
    layer_counts: dict[str, int] = {"bytes": len(decided), "candidates": len(todo)}
    _cascade(fs, methods, todo, digests, decided, layer_counts, jobs, progress, verdicts, executor)
    return _matches(fs, methods, decided, layer_counts)


def _cascade(
    fs: FeatureSet,
    methods: Sequence[Method],
    pairs: Sequence[tuple[int, int]],
    digests: dict[str, str],
    decided: dict[tuple[int, int], tuple[str, str, dict[str, Score]]],
    layer_counts: dict[str, int],
    jobs: int,
    progress: Progress | None,
    verdicts: VerdictCache | None,
    executor: Executor | None,
) -> None:
    """Decide ``pairs`` with the cheapest layer that can; the alike ones go to ``decided``."""
    if not pairs:
        return
    ia = np.array([p[0] for p in pairs])
    ib = np.array([p[1] for p in pairs])
    cheap = [m for m in methods if m.kind != "pair" and m.name != "aspect" and m.decides]
    local = next((m for m in methods if m.kind == "pair"), None)
    rows: list[dict[str, Score]] = [{} for _ in pairs]
    for m in cheap:
        f = fs.features[m.name]
        for k, s in enumerate(score_rows(m, f[ia], f[ib])):
            rows[k][m.name] = s
    outcomes = [decide(r) for r in rows]
    if local is not None:
        # Keypoints decide what the global layers left different, and may overrule
        # the weakest global layer (colour + content masks), which calls distinct
        # charts or text pages of one template alike.
        todo = [
            k
            for k, (v, by) in enumerate(outcomes)
            if v == "different" or by == "content" or (by in rows[k] and weak_hash(rows[k][by]))
        ]
        if "embed" in rows[0]:
            # The learned layer decides "different" where its descriptors are far apart:
            # no keypoint verification is spent on those pairs.
            far = [k for k in todo if rows[k]["embed"].similarity < EMBED_DIFFERENT]
            for k in far:
                outcomes[k] = ("different", "embed")
            layer_counts["embed far"] = layer_counts.get("embed far", 0) + len(far)
            todo = [k for k in todo if rows[k]["embed"].similarity >= EMBED_DIFFERENT]
        for k, score in zip(
            todo,
            _verify(local, fs, pairs, todo, digests, jobs, progress, verdicts, executor),
            strict=True,
        ):
            rows[k][local.name] = score
            outcomes[k] = decide(rows[k])
    for k, (a, b) in enumerate(pairs):
        verdict, by = outcomes[k]
        if verdict != "different":
            decided[(a, b)] = (by, verdict, rows[k])
            layer_counts[by] = layer_counts.get(by, 0) + 1


def _matches(
    fs: FeatureSet,
    methods: Sequence[Method],
    decided: dict[tuple[int, int], tuple[str, str, dict[str, Score]]],
    layer_counts: dict[str, int],
) -> Matches:
    """The decided pairs in key order, with their calibrated similarity and relation."""
    keys = sorted(decided)
    relations = _relations(fs, methods, keys, decided)
    return Matches(
        i=np.array([k[0] for k in keys], dtype=np.int64),
        j=np.array([k[1] for k in keys], dtype=np.int64),
        similarity=np.array(
            [calibrated_similarity(decided[k][2], r) for k, r in zip(keys, relations, strict=True)],
            dtype=np.float64,
        ),
        method=[decided[k][0] for k in keys],
        verdict=[decided[k][1] for k in keys],
        relation=relations,
        layer_counts=layer_counts,
    )


def _relations(
    fs: FeatureSet,
    methods: Sequence[Method],
    keys: Sequence[tuple[int, int]],
    decided: dict[tuple[int, int], tuple[str, str, dict[str, Score]]],
) -> list[PairRelation]:
    """The relation of each decided pair, from its scores and both images' facts (sizes,
    greyscale histograms, frames trimmed off by the region codes)."""
    if not keys:
        return []
    ia = np.array([k[0] for k in keys], dtype=np.int64)
    ib = np.array([k[1] for k in keys], dtype=np.int64)
    sizes = np.asarray(fs.features["aspect"], dtype=np.float64)
    grey = np.zeros(len(fs.paths), bool)
    if "color" in fs.features:
        grey = grey_histograms(fs.features["color"])
    framed_a = framed_b = np.zeros(len(keys), bool)
    by_name = {m.name: m for m in methods}
    if "regions" in by_name and "regions" in fs.features:
        codes = by_name["regions"].codes(fs.features["regions"])  # type: ignore[attr-defined]
        plain, trimmed = codes[:, 0, :], codes[:, 1, :]
        trims = (plain != trimmed).any(axis=1)
        # a holder's trimmed picture meets the other's plain code: the other in a frame
        framed_a = trims[ia] & (hamming(trimmed[ia], plain[ib]) <= FRAME_BITS)
        framed_b = trims[ib] & (hamming(trimmed[ib], plain[ia]) <= FRAME_BITS)
    return [
        name_relation(
            decided[k][2],
            same_bytes=decided[k][0] == "bytes",
            sizes=(tuple(sizes[a]), tuple(sizes[b])),
            grey=(bool(grey[a]), bool(grey[b])),
            framed=(bool(framed_a[x]), bool(framed_b[x])),
        )
        for x, (k, a, b) in enumerate(zip(keys, ia.tolist(), ib.tolist(), strict=True))
    ]
