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
6. **marks** ("not duplicates" pairs are dropped; "keep" files are keepers,
   :mod:`lookalike.dupes.marks`), then **groups** of copies, each with a keeper chosen by
   the rule (:class:`~lookalike.match.grouping.KeeperRule`: by default the original, from
   the signs of processing of :mod:`lookalike.dupes.facts`).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from lookalike.dupes.facts import (
    FACTS_VERSION,
    MEASURED,
    measure,
    stretched_flags,
    turned_flags,
    upscaled_flags,
)
from lookalike.dupes.marks import Marks
from lookalike.dupes.records import DuplicateReport, Group, Member, Pair
from lookalike.engines import Executor
from lookalike.errors import Failure
from lookalike.features import FeatureSet
from lookalike.features.cache import cached_features
from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.match.engine import Matches, match_features, match_pairs
from lookalike.match.engine import layer_methods as engine_layers
from lookalike.match.grouping import (
    ORIGINAL,
    FileFacts,
    KeeperRule,
    group_pairs,
    picture_classes,
    same_picture_pairs,
    unlinked_reach,
)
from lookalike.match.relation import PairRelation
from lookalike.methods import Method, get_method
from lookalike.progress import Progress
from lookalike.sources.folders import NO_FILTERS, Entry, Filters, scan
from lookalike.store.catalog import Catalog, open_catalog
from lookalike.store.verdicts import VerdictCache


@dataclass(frozen=True)
class DupesOptions:
    """How a duplicate search runs; the defaults suit photo libraries."""

    methods: tuple[str, ...] = DEFAULT_LAYERS
    #: Least calibrated similarity (0..1, :mod:`lookalike.match.relation`) a pair needs to
    #: count; None = every pair the engine verifies (all are >= 0.85).
    threshold: float | None = None
    #: The relation kinds that count as duplicates (:data:`~lookalike.match.relation.KINDS`);
    #: None = all of them.
    relations: tuple[str, ...] | None = None
    recursive: bool = True
    jobs: int = 1
    #: Catalog file; None = the per-user cache; "" = a throw-away catalog for this run.
    cache: str | None = None
    #: Which copy is kept (``--keep``, ``--keep-in``); marked "keep" files are added.
    keep: KeeperRule = ORIGINAL
    #: People's marks; None = those stored in the catalog (none for a throw-away one).
    marks: Marks | None = None
    #: What the scan leaves out (``--exclude``, ``--hidden``, ``--ext``, ``--min-bytes``).
    filters: Filters = field(default_factory=lambda: NO_FILTERS)
    #: Images whose short side is under this many pixels are left out.
    min_size: int = 0
    #: Only copies with the same bytes or the same pixels (verdict "identical").
    exact_only: bool = False
    #: ONNX model of the ``embed`` layer (added to ``methods`` when given); ``methods``
    #: naming embed without a model runs the shipped one.
    model: str | None = None


def layer_methods(options: DupesOptions) -> list[Method]:
    """The methods a duplicate search computes (:func:`lookalike.match.engine.layer_methods`)."""
    return engine_layers(options.methods, model=options.model)


def _open_catalog(cache: str | None, tmp: str) -> Catalog:
    if cache == "":
        return Catalog(os.path.join(tmp, "catalog.sqlite"))
    return open_catalog(cache)


def find_duplicates(
    paths: Iterable[str | os.PathLike[str]],
    options: DupesOptions | None = None,
    *,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> DuplicateReport:
    """Groups of images that are copies of each other under ``paths`` (files, folders, zips).

    ``progress(stage, done, total)`` is called while features are computed (stage
    "features") and while keypoint pairs are verified ("verifying"). ``executor``: where
    decoding and verification run (default ``options.jobs`` local processes; a cluster
    engine, :mod:`lookalike.engines`, gives the same groups).
    """
    options = options or DupesOptions()
    entries: list[Entry] = []
    failures: list[Failure] = []
    for item in scan(paths, recursive=options.recursive, filters=options.filters):
        if isinstance(item, Entry):
            entries.append(item)
        else:
            failures.append(item)
    methods = layer_methods(options)
    with tempfile.TemporaryDirectory(prefix="lookalike-") as tmp:
        catalog = _open_catalog(options.cache, tmp)
        try:
            fs, stats = cached_features(
                entries, methods, catalog, jobs=options.jobs, progress=progress, executor=executor
            )
            digests = catalog.digests(fs.paths)
            marks = options.marks
            if marks is None:
                marks = Marks() if options.cache == "" else Marks.from_rows(catalog.marks())
        finally:
            catalog.close()
        if options.min_size and len(fs):
            fs = _at_least(fs, options.min_size)
        # verdicts of earlier runs: an unchanged folder is not verified again
        with VerdictCache(catalog.verdicts_path) as verdicts:
            report = detect(
                fs,
                methods,
                digests,
                {e.path: e for e in entries},
                options.jobs,
                progress,
                rule=options.keep,
                marks=marks,
                exact_only=options.exact_only,
                verdicts=verdicts,
                executor=executor,
                threshold=options.threshold,
                relations=options.relations,
            )
    report.errors = failures + fs.failures
    report.scanned = len(entries) + len(failures)
    report.stats["cache"] = stats.to_dict()
    report.digests = digests
    return report


def _at_least(fs: FeatureSet, min_size: int) -> FeatureSet:
    """The feature set without the images whose short side is under ``min_size`` pixels."""
    sizes = np.asarray(fs.features["aspect"])
    keep = np.flatnonzero(sizes.min(axis=1) >= min_size)
    features = {
        k: (v[keep] if isinstance(v, np.ndarray) else [v[x] for x in keep.tolist()])
        for k, v in fs.features.items()
    }
    return FeatureSet([fs.paths[x] for x in keep.tolist()], features, fs.failures)


def detect(
    fs: FeatureSet,
    methods: Sequence[Method],
    digests: dict[str, str],
    entries: dict[str, Entry],
    jobs: int = 1,
    progress: Progress | None = None,
    *,
    rule: KeeperRule = ORIGINAL,
    marks: Marks | None = None,
    exact_only: bool = False,
    verdicts: VerdictCache | None = None,
    executor: Executor | None = None,
    threshold: float | None = None,
    relations: tuple[str, ...] | None = None,
) -> DuplicateReport:
    """The matching engine over a computed feature set, then marks, then groups with keepers.

    A copy verified only against another copy of its picture (a strong crop against a
    milder one) is then checked against its group's keeper directly
    (:func:`~lookalike.match.grouping.unlinked_reach`, :func:`~lookalike.match.engine.match_pairs`),
    for :data:`REACH_ROUNDS` rounds, so the star groups take in what the pairs chain to.
    """
    found = match_features(
        fs, methods, digests, jobs=jobs, progress=progress, verdicts=verdicts, executor=executor
    )
    paths = fs.paths
    n = len(paths)
    if marks and marks.keep:
        kept = frozenset(p for p in paths if digests.get(p) in marks.keep)
        rule = KeeperRule(rule.name, rule.glob, rule.kept | kept, rule.reference)
    found = _kept(found, fs, digests, marks, exact_only, threshold, relations)
    row = {p: k for k, p in enumerate(paths)}
    tried: set[tuple[int, int]] = set()
    for round_ in range(REACH_ROUNDS + 1):
        facts = _facts(
            fs,
            entries,
            found.i,
            found.j,
            found.verdict,
            rule,
            progress,
            digests,
            verdicts,
            found.relation,
            found.similarity,
        )
        groups = group_pairs(
            paths,
            found.i,
            found.j,
            found.similarity,
            found.method,
            facts,
            found.verdict,
            rule,
            found.relation,
        )
        if exact_only or round_ >= REACH_ROUNDS:
            break
        keepers = [row[g.keep] for g in groups]
        ask = [p for p in unlinked_reach(n, found.i, found.j, keepers) if p not in tried]
        if not ask:
            break
        tried.update(ask)
        found.layer_counts["reach"] = found.layer_counts.get("reach", 0) + len(ask)
        more = match_pairs(
            fs,
            methods,
            digests,
            ask,
            jobs=jobs,
            progress=progress,
            verdicts=verdicts,
            executor=executor,
        )
        more = _kept(more, fs, digests, marks, exact_only, threshold, relations)
        if not len(more.i):
            break
        for name, count in more.layer_counts.items():
            if name not in ("bytes", "candidates"):
                found.layer_counts[name] = found.layer_counts.get(name, 0) + count
        found = _merged(found, more)
    if marks and marks.not_duplicates:
        groups = _split_marked(groups, digests, marks)
    report = DuplicateReport(
        groups=groups,
        pairs=[
            Pair(paths[a], paths[b], s, m, v, r)
            for a, b, s, m, v, r in zip(
                found.i.tolist(),
                found.j.tolist(),
                found.similarity.tolist(),
                found.method,
                found.verdict,
                found.relation,
                strict=True,
            )
        ],
    )
    report.stats["decided_by"] = found.layer_counts
    report.stats["keep_rule"] = rule.name if rule.name != "path" else f"path:{rule.glob}"
    report.stats["images"] = n
    return report


#: Rounds in which groups' keepers are checked against copies they only chain to.
REACH_ROUNDS = 2


def _kept(
    found: Matches,
    fs: FeatureSet,
    digests: dict[str, str],
    marks: Marks | None,
    exact_only: bool,
    threshold: float | None,
    relations: tuple[str, ...] | None,
) -> Matches:
    """The pairs that count: ``--exact``, ``--threshold``, ``--relations`` and the pairs
    people marked "not duplicates" applied."""
    keep = np.ones(len(found.i), bool)
    if exact_only:  # the same bytes, or every fingerprint equal at the same size
        keep &= np.asarray(found.verdict, dtype=object) == "identical"
        if len(found.i):
            sizes = np.asarray(fs.features["aspect"])
            keep &= (sizes[found.i] == sizes[found.j]).all(axis=1)
    if threshold is not None:  # on the calibrated scale; a tiny slack for rounding
        keep &= found.similarity + 1e-9 >= threshold
    if relations is not None:
        keep &= np.array([r.kind in relations for r in found.relation], bool)
    if marks:
        paths = fs.paths
        for k, (a, b) in enumerate(zip(found.i.tolist(), found.j.tolist(), strict=True)):
            if marks.apart(digests.get(paths[a]), digests.get(paths[b])):
                keep[k] = False
    if keep.all():
        return found
    return _take(found, keep)


def _take(found: Matches, rows: np.ndarray) -> Matches:
    """The pairs at ``rows`` (indices or a mask), in that order."""
    idx = np.flatnonzero(rows) if rows.dtype == bool else rows
    pick = idx.tolist()
    return Matches(
        i=found.i[idx],
        j=found.j[idx],
        similarity=found.similarity[idx],
        method=[found.method[k] for k in pick],
        verdict=[found.verdict[k] for k in pick],
        relation=[found.relation[k] for k in pick],
        layer_counts=found.layer_counts,
    )


def _merged(a: Matches, b: Matches) -> Matches:
    """The pairs of both in key order (``b`` holds only pairs ``a`` lacks)."""
    both = Matches(
        i=np.r_[a.i, b.i],
        j=np.r_[a.j, b.j],
        similarity=np.r_[a.similarity, b.similarity],
        method=[*a.method, *b.method],
        verdict=[*a.verdict, *b.verdict],
        relation=[*a.relation, *b.relation],
        layer_counts=a.layer_counts,
    )
    return _take(both, np.lexsort((both.j, both.i)))


def _split_marked(groups: list[Group], digests: dict[str, str], marks: Marks) -> list[Group]:
    """Groups in which no two members were marked "not duplicates".

    The pair itself is dropped before grouping, but both files may still be linked to a
    third one. Within a group the keeper stays; of the other members marked apart from
    the keeper or from a member already kept, the later ones (less similar) leave the group.
    """
    out = []
    for g in groups:
        kept: list[Member] = []
        for m in g.members:  # the keeper first, then by similarity
            d = digests.get(m.path)
            if any(marks.apart(d, digests.get(k.path)) for k in kept):
                continue
            kept.append(m)
        if len(kept) > 1:
            out.append(dataclasses.replace(g, members=kept))
    return out


def _facts(
    fs: FeatureSet,
    entries: dict[str, Entry],
    i: np.ndarray,
    j: np.ndarray,
    verdict: Sequence[str],
    rule: KeeperRule,
    progress: Progress | None,
    digests: dict[str, str] | None = None,
    cache: VerdictCache | None = None,
    relation: Sequence[PairRelation | None] | None = None,
    similarity: np.ndarray | None = None,
) -> list[FileFacts]:
    """What the keeper rule needs per image; the signs of processing are measured only
    for images in a pair, and only when the rule looks at them. ``cache`` keeps them by
    digest, so an unchanged file is not decoded again. ``relation``: each pair's, for the
    files that show another one shrunk (:func:`holders_of_smaller`) and the grey ones
    with a colour copy (:func:`grey_copies`); ``similarity``: each pair's, to tell the
    copies of one picture apart (the shrunk test then reads all of a picture's copies)."""
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
    if rule.name not in ("original", "path") or len(i) == 0:
        return facts
    turned = np.zeros(n, bool)
    if "phash8" in fs.features:
        radius = get_method("phash8").distance_thresholds()[0]  # type: ignore[attr-defined]
        same = [v == "identical" for v in verdict]
        turned = turned_flags(fs.features["phash8"], i, j, same, radius)
    linked = sorted(set(i.tolist()) | set(j.tolist()))
    digests = digests or {}
    scope = f"facts{FACTS_VERSION}"
    known = {}
    if cache is not None:
        known = cache.facts([d for k in linked if (d := digests.get(paths[k]))], scope)
    fresh: list[tuple[str, dict[str, object]]] = []
    for done, k in enumerate(linked, 1):
        e = entries.get(paths[k])
        f = facts[k]
        digest = digests.get(paths[k])
        stored = known.get(digest) if digest else None
        if stored is not None and set(stored) == set(MEASURED):
            f = replace(f, **stored)
        elif e is not None:
            f = measure(e, f.width, f.height, f.mtime)
            if digest:
                fresh.append((digest, {name: getattr(f, name) for name in MEASURED}))
        facts[k] = replace(f, turned=bool(turned[k]))
        if progress is not None:
            progress("facts", done, len(linked))
    if cache is not None and fresh:
        cache.put_facts(fresh, scope)
    keys = [digests.get(p) for p in paths]
    pair_scope = f"upscaled{FACTS_VERSION}"
    pairs_known: dict[tuple[str, str], bool] = {}
    if cache is not None:  # stored under the larger copy: {smaller digest: upscaled}
        for big, smaller in cache.facts([k for k in keys if k], pair_scope).items():
            pairs_known.update({(big, small): bool(v) for small, v in smaller.items()})
    before = set(pairs_known)
    upscaled = upscaled_flags([entries.get(p) for p in paths], facts, i, j, pairs_known, keys)
    grown = {big for big, small in pairs_known if (big, small) not in before}
    if cache is not None and grown:  # each grown entry whole: it replaces the stored one
        by_big: dict[str, dict[str, object]] = {}
        for (big, small), v in pairs_known.items():
            if big in grown:
                by_big.setdefault(big, {})[small] = v
        cache.put_facts(list(by_big.items()), pair_scope)
    for k in np.flatnonzero(upscaled).tolist():
        facts[k] = replace(facts[k], upscaled=True)
    if relation is not None:
        classes = None
        if similarity is not None:
            same = same_picture_pairs(similarity, verdict, relation)
            classes = picture_classes(n, i, j, same)
        for k in holders_of_smaller(i, j, relation, facts, classes):
            facts[k] = replace(facts[k], holds_smaller=True)
        for k in np.flatnonzero(stretched_flags(sizes, i, j, relation)).tolist():
            facts[k] = replace(facts[k], stretched=True)
        greyed = grey_copies(i, j, relation, facts)
        for k in linked:
            if facts[k].grey and k not in greyed:
                facts[k] = replace(facts[k], grey=False)
    return facts


def grey_copies(
    i: np.ndarray,
    j: np.ndarray,
    relation: Sequence[PairRelation | None],
    facts: Sequence[FileFacts],
) -> set[int]:
    """The greyscale images with a copy in colour: a verified partner whose colour is its
    own picture's. A partner that holds the grey one (a colour screenshot, frame or page
    around it) does not count: the colour is the holder's, and a black-and-white photo in
    a coloured frame is still the original. Only these lose the keeper rule's "colour"."""
    grey = np.array([f.grey for f in facts], bool)
    holder = np.array([0 if r is None else r.holder for r in relation], np.int64)
    a, b = np.asarray(i, np.int64), np.asarray(j, np.int64)
    a_greyed = grey[a] & ~grey[b] & (holder != 2)  # b in colour, and not holding a
    b_greyed = grey[b] & ~grey[a] & (holder != 1)
    return set(a[a_greyed].tolist()) | set(b[b_greyed].tolist())


#: A holder shows the other picture at under this size of the other file (linear): shrunk
#: into it, not the original a crop was cut from (a crop at its own size sits at 1.0).
SHRUNK_BELOW = 0.9
#: ... and the share of the holder the other covers at that scale must be within this
#: (relative) of the share the pixel check measured.
SHARE_SLACK = 0.2


def holders_of_smaller(
    i: np.ndarray,
    j: np.ndarray,
    relation: Sequence[PairRelation | None],
    facts: Sequence[FileFacts],
    classes: np.ndarray | None = None,
) -> set[int]:
    """The images that hold another one shrunk (:data:`SHRUNK_BELOW`): a screenshot of it,
    a frame around it, a picture it was pasted into. The other is the original, unless it
    is itself upscaled (a crop enlarged back to the full size also sits shrunk inside the
    picture it was cut from). The measured scale must explain the share of the holder
    the other covers (:data:`SHARE_SLACK`): keypoints on a repetitive design can fit a
    wrong scale, and a wrong scale must not demote the original.

    ``classes``: each image's picture (:func:`~lookalike.match.grouping.picture_classes`).
    Given, a scale counts only where the median over the pairs between the holder's
    copies and the other's is shrunk too: on a design with few corners one pair can read
    0.88 where the re-encodes of the same picture read 1.0 (held out, 2 originals were
    demoted that way, and their JPEG copies kept)."""
    # (holder's picture, other's): the other's width inside the holder, as a share of the
    # holder's width -- the same for every copy of either picture, whatever its size
    held: dict[tuple[int, int], list[float]] = {}
    if classes is not None:
        for a, b, r in zip(i.tolist(), j.tolist(), relation, strict=True):
            if r is not None and r.holder:
                holder, other = (a, b) if r.holder == 1 else (b, a)
                if facts[holder].width and facts[other].width:
                    share = r.scale * facts[other].width / facts[holder].width
                    held.setdefault((classes[holder], classes[other]), []).append(share)
    out: set[int] = set()
    for a, b, r in zip(i.tolist(), j.tolist(), relation, strict=True):
        if r is None or not r.holder or r.scale >= SHRUNK_BELOW:
            continue
        holder, other = (a, b) if r.holder == 1 else (b, a)
        fh, fo = facts[holder], facts[other]
        shares = held.get((classes[holder], classes[other])) if classes is not None else None
        if shares and fo.width and np.median(shares) * fh.width / fo.width >= SHRUNK_BELOW:
            continue  # the copies of these two pictures mostly read the other at its size
        if fo.upscaled or fh.width * fh.height == 0:
            continue
        covered = fo.width * fo.height * r.scale**2 / (fh.width * fh.height)
        if abs(covered - r.kept) <= SHARE_SLACK * max(covered, r.kept):
            out.add(holder)
    return out
