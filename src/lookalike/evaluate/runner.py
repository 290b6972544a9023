"""Score a benchmark with every method and with the cascade, and measure the accuracy.

What is scored (DISC21-style, Douze et al. 2021): every query against every reference.

* ``code`` methods (hashes, content fingerprint): the full (queries x references) Hamming
  matrix, :meth:`lookalike.methods.base.CodeMethod.distance_matrix`;
* cheap ``vector`` methods (aspect, colour): ``method.similarity`` broadcast over blocks of
  queries against all references;
* expensive methods -- ``pair`` methods (ORB / SIFT verification) and SSIM -- only on
  *candidate pairs*: for each query the top ``candidates`` references of each shortlist
  method (colour histogram, which ignores rotations, mirrors and most crops; and pHash),
  as a search system would shortlist before verifying. Pairs outside the shortlist get no
  score: they are missing predictions, so a copy the shortlist missed counts as missed
  (the report gives the shortlist's recall).

**Engine candidate recall** (:func:`engine_candidates`): the share of ground-truth pairs
that :func:`lookalike.match.engine.candidate_pairs` -- the candidate search ``dupes`` and
``docs`` run over all the images at once -- proposes before any verification, per attack
and severity, with and without the region codes, and the candidates per image it costs;
and the share it *reaches*: query and reference joined by a chain of candidate pairs
between copies of the same picture, which is what ``dupes`` groups once it checks each
group's keeper against the copies it chains to.

The cascade is :func:`lookalike.match.cascade.decide` on each pair's scores (the methods that
scored it); its ranking score is ``(tier + s) / 3`` with tier 2 / 1 / 0 for identical /
similar / different and ``s`` the deciding method's similarity clipped to [0, 1), so every
"similar" verdict ranks above every "different" one and ties within a tier are broken by
the deciding evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lookalike.engines import Executor, consumed
from lookalike.engines.local import LocalExecutor
from lookalike.evaluate.dataset import Benchmark, load_benchmark
from lookalike.evaluate.metrics import (
    micro_ap,
    precision_recall,
    recall_at_precision,
    recall_at_threshold,
    roc_auc,
)
from lookalike.features import extract_features
from lookalike.match.cascade import DEFAULT_LAYERS, Score, decide
from lookalike.match.engine import candidate_pairs, layer_methods
from lookalike.methods import EVAL_METHODS, CodeMethod, Method, get_method
from lookalike.progress import Progress

#: Vector methods too costly for the full cross product: scored on candidate pairs.
EXPENSIVE = ("ssim",)
#: Methods whose top-k references per query make the candidate pairs.
SHORTLIST = ("color", "phash")
TIERS = {"identical": 2, "similar": 1, "different": 0}
TARGET_PRECISION = 0.99
_BELOW_ONE = 1.0 - 1e-9  # keeps each cascade tier strictly below the next one
_BLOCK = 2_000_000  # elements per broadcast block
_PAIR_CHUNK = 64


@dataclass
class MethodScores:
    """One method's (queries x references) similarities (NaN: not scored) and its cost."""

    name: str
    similarity: np.ndarray
    distance: np.ndarray
    verdict: Callable[[float], str] | None
    ms_per_image: float = 0.0
    ms_per_pair: float = 0.0
    failures: list[str] = field(default_factory=list)


def _features(
    paths: Sequence[str],
    method: Method,
    jobs: int,
    progress: Progress | None,
    executor: Executor | None = None,
) -> tuple[Any, np.ndarray, list[str], float]:
    """Features of every path (rows of failures left out), the mask of those that worked,
    the failures, and the wall time."""
    t0 = time.perf_counter()

    def tick(stage: str, done: int, total: int) -> None:
        if progress:
            progress(f"features {method.name}", done, total)

    fs = extract_features(paths, [method], jobs=jobs, progress=tick, executor=executor)
    elapsed = time.perf_counter() - t0
    ok = np.isin(np.asarray(paths, dtype=object), np.asarray(fs.paths, dtype=object))
    return fs.features[method.name], ok, [f"{f.path}: {f.reason}" for f in fs.failures], elapsed


def _rows(feats: Any, index: np.ndarray) -> Any:
    if isinstance(feats, np.ndarray):
        return feats[index]
    return [feats[i] for i in index]


def _full_matrix(method: Method, fq: Any, fr: Any) -> tuple[np.ndarray, np.ndarray]:
    """Similarity and distance of every query row against every reference row."""
    if isinstance(method, CodeMethod):
        d = method.distance_matrix(fq, fr).astype(np.float64)
        return 1.0 - d / method.bits, d
    fq, fr = np.asarray(fq), np.asarray(fr)
    width = int(np.prod(fr.shape[1:])) if fr.ndim > 1 else 1
    step = max(1, _BLOCK // max(1, width * len(fr)))
    sims = np.empty((len(fq), len(fr)))
    for i in range(0, len(fq), step):
        block = np.asarray(method.similarity(fq[i : i + step, None], fr[None]), np.float64)
        sims[i : i + step] = block.reshape(-1, len(fr))
    return sims, 1.0 - sims


def _score_aligned(method: Method, fa: Any, fb: Any) -> np.ndarray:
    """Similarity of aligned rows (run in a worker for pair methods)."""
    return np.atleast_1d(np.asarray(method.similarity(fa, fb), dtype=np.float64))


def _score_pairs(
    method: Method,
    fq: Any,
    fr: Any,
    qi: np.ndarray,
    ri: np.ndarray,
    jobs: int,
    progress: Progress | None,
    executor: Executor | None = None,
) -> np.ndarray:
    chunks = [slice(i, i + _PAIR_CHUNK) for i in range(0, len(qi), _PAIR_CHUNK)]
    args = [(_rows(fq, qi[c]), _rows(fr, ri[c])) for c in chunks]
    out: list[np.ndarray] = []
    done = 0
    executor = executor or LocalExecutor(jobs)
    calls = [(method, a, r) for a, r in args]
    with consumed(executor.map(_score_aligned, calls)) as mapped:
        for scores, c in zip(mapped, chunks, strict=True):
            out.append(scores)
            done += len(qi[c])
            if progress:
                progress(f"pairs {method.name}", done, len(qi))
    return np.concatenate(out) if out else np.zeros(0)


def _top_k(sims: np.ndarray, k: int) -> np.ndarray:
    """(n_q, n_r) bool: the k best references of each query (NaN ranks last)."""
    k = min(k, sims.shape[1])
    s = np.where(np.isnan(sims), -np.inf, sims)
    top = np.argpartition(-s, k - 1, axis=1)[:, :k]
    mask = np.zeros(sims.shape, bool)
    np.put_along_axis(mask, top, True, axis=1)
    return mask


def score_benchmark(
    bench: Benchmark,
    methods: Sequence[Method],
    *,
    jobs: int = 1,
    candidates: int = 5,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> tuple[dict[str, MethodScores], np.ndarray]:
    """Every method's similarity matrix, and the candidate-pair mask used for the costly ones."""
    root = bench.root
    paths = [str(root / p) for p in (*bench.queries, *bench.references)]
    n_q, n_r = len(bench.queries), len(bench.references)
    cheap = [m for m in methods if m.kind != "pair" and m.name not in EXPENSIVE]
    costly = [m for m in methods if m not in cheap]
    out: dict[str, MethodScores] = {}
    feats: dict[str, tuple[Any, np.ndarray]] = {}
    for m in [*cheap, *costly]:
        f, ok, failures, elapsed = _features(paths, m, jobs, progress, executor)
        idx = np.cumsum(ok) - 1  # row of path i in the features, when ok[i]
        feats[m.name] = (f, ok)
        sims = np.full((n_q, n_r), np.nan)
        dist = np.full((n_q, n_r), np.nan)
        out[m.name] = MethodScores(m.name, sims, dist, m.verdict, failures=failures)
        out[m.name].ms_per_image = 1000 * elapsed / max(1, len(paths))
        if m in cheap:
            qok, rok = np.flatnonzero(ok[:n_q]), np.flatnonzero(ok[n_q:])
            t0 = time.perf_counter()
            s, d = _full_matrix(m, _rows(f, idx[qok]), _rows(f, idx[n_q + rok]))
            out[m.name].ms_per_pair = 1000 * (time.perf_counter() - t0) / max(1, s.size)
            sims[np.ix_(qok, rok)] = s
            dist[np.ix_(qok, rok)] = d
    shortlist = [out[n].similarity for n in SHORTLIST if n in out and n not in EXPENSIVE]
    if not shortlist:
        shortlist = [out[m.name].similarity for m in cheap]
    cand = np.ones((n_q, n_r), bool)
    if shortlist:
        cand = np.zeros((n_q, n_r), bool)
        for s in shortlist:
            cand |= _top_k(s, candidates)
    for m in costly:
        f, ok = feats[m.name]
        idx = np.cumsum(ok) - 1
        qi, ri = np.nonzero(cand & ok[:n_q, None] & ok[None, n_q:])
        t0 = time.perf_counter()
        s = _score_pairs(m, f, f, idx[qi], idx[n_q + ri], jobs, progress, executor)
        out[m.name].ms_per_pair = 1000 * (time.perf_counter() - t0) / max(1, len(qi))
        out[m.name].similarity[qi, ri] = s
        out[m.name].distance[qi, ri] = 1.0 - s
    return out, cand


def cascade_scores(scores: dict[str, MethodScores]) -> tuple[np.ndarray, np.ndarray]:
    """The cascade's ranking score and verdict (0 different, 1 similar, 2 identical) per pair,
    from :func:`lookalike.match.cascade.decide` on the scores each pair has."""
    any_ = next(iter(scores.values())).similarity
    n_q, n_r = any_.shape
    names = list(scores)
    sims = np.stack([scores[n].similarity for n in names])  # (methods, q, r)
    dists = np.stack([scores[n].distance for n in names])
    out = np.full((n_q, n_r), np.nan)
    tier = np.zeros((n_q, n_r), np.int8)
    verdicts = {n: scores[n].verdict for n in names}
    for q in range(n_q):
        for r in range(n_r):
            s_col, d_col = sims[:, q, r], dists[:, q, r]
            pair = {
                n: Score(n, float(d_col[k]), float(s_col[k]), verdicts[n](float(s_col[k])))  # type: ignore[misc]
                for k, n in enumerate(names)
                if not np.isnan(s_col[k])
            }
            if not pair:
                continue
            verdict, by = decide(pair)
            t = TIERS[verdict]
            tier[q, r] = t
            out[q, r] = (t + min(_BELOW_ONE, max(0.0, pair[by].similarity))) / 3.0
    return out, tier


def _block(sims: np.ndarray, labels: np.ndarray, n_pos: int) -> dict[str, Any]:
    """µAP, recall at precision 0.99 and its threshold, ROC AUC of one block of pairs."""
    scored = ~np.isnan(sims)
    s, y = sims[scored], labels[scored]
    op = recall_at_precision(s, y, TARGET_PRECISION, n_pos)
    filled = np.where(scored, sims, -np.inf)  # unscored pairs rank last for the AUC
    return {
        "uap": micro_ap(s, y, n_pos),
        "recall_at_p99": op.recall,
        "threshold_at_p99": op.threshold,
        "auc": roc_auc(filled, labels),
        "positives": n_pos,
        "scored_pairs": int(scored.sum()),
    }


def _at(sims: np.ndarray, labels: np.ndarray, thr: float | None, n_pos: int) -> float:
    scored = ~np.isnan(sims)
    return recall_at_threshold(sims[scored], labels[scored], thr, n_pos).recall


def evaluate_scores(bench: Benchmark, sims: np.ndarray, similar_at: float | None) -> dict[str, Any]:
    """All metrics of one (queries x references) similarity matrix on ``bench``."""
    labels = bench.labels()
    rows_all = np.ones(len(bench.queries), bool)
    res = _block(sims, labels, bench.n_positives)
    thr = res["threshold_at_p99"]
    scored = ~np.isnan(sims)
    if similar_at is not None:
        op = recall_at_threshold(sims[scored], labels[scored], similar_at, bench.n_positives)
        res["at_default"] = {
            "threshold": similar_at,
            "precision": op.precision,
            "recall": op.recall,
        }
    fam = np.asarray(bench.family, dtype=object)
    att = np.asarray(bench.attack, dtype=object)
    sev = np.asarray(bench.severity, dtype=object)
    pos = bench.positive

    def subset(rows: np.ndarray) -> dict[str, Any]:
        n = int(pos[rows].sum())
        d = _block(sims[rows], labels[rows], n)
        d["recall"] = _at(sims[rows], labels[rows], thr, n)  # at the global p99 threshold
        d["recall_at_default"] = _at(sims[rows], labels[rows], similar_at, n)
        return d

    res["families"] = {f: subset(fam == f) for f in dict.fromkeys(fam[pos]) if f}
    res["per_attack"] = {a: subset((att == a) & pos) for a in dict.fromkeys(att[pos])}
    res["per_severity"] = {v: subset((sev == v) & pos) for v in dict.fromkeys(sev[pos])}
    hard = rows_all & ~pos & (bench.reference_of >= 0)
    if hard.any():
        hs = sims[np.flatnonzero(hard), bench.reference_of[hard]]
        res["hard_negatives"] = {
            "n": int(hard.sum()),
            "scored": int((~np.isnan(hs)).sum()),
            "max_similarity": float(np.nanmax(hs)) if (~np.isnan(hs)).any() else None,
            "above_p99_threshold": int((hs >= thr).sum()) if thr is not None else None,
            "above_default": int((hs >= similar_at).sum()) if similar_at is not None else None,
        }
    return res


def _proposed(bench: Benchmark, key: np.ndarray, n: int, n_q: int) -> np.ndarray:
    """Per query: was the pair (query, its reference) among the candidate keys?"""
    q = np.arange(n_q)
    r = n_q + np.maximum(bench.reference_of, 0)
    want = np.minimum(q, r) * n + np.maximum(q, r)
    return np.isin(want, key) & bench.positive


def _reachable(bench: Benchmark, key: np.ndarray, n: int, n_q: int) -> np.ndarray:
    """Per query: are the query and its reference joined by a chain of candidate pairs
    between copies of the same picture? What a duplicate search can group once it checks
    a group's keeper against the copies it chains to
    (:func:`lookalike.match.grouping.unlinked_reach`)."""
    picture = np.r_[np.where(bench.reference_of >= 0, bench.reference_of, -1 - np.arange(n_q)),
                    np.arange(n - n_q)]  # fmt: skip
    i, j = key // max(n, 1), key % max(n, 1)
    same = picture[i] == picture[j]
    graph = coo_matrix((np.ones(int(same.sum())), (i[same], j[same])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    r = n_q + np.maximum(bench.reference_of, 0)
    return (comp[:n_q] == comp[r]) & bench.positive


def engine_candidates(
    bench: Benchmark,
    layers: Sequence[str] = DEFAULT_LAYERS,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Candidate recall of the matching engine on ``bench``, before any verification.

    The features of :func:`lookalike.match.engine.layer_methods` (``layers``) for every
    query and reference together, as ``dupes`` sees a folder; then
    :func:`~lookalike.match.engine.candidate_pairs` with the region codes (``"engine"``)
    and without them (``"without_regions"``, the engine before they were added), and
    without the learned descriptors (``"without_embed"``, when ``layers`` holds embed). For each:
    the share of ground-truth (query, reference) pairs proposed, per attack and severity,
    and the candidate pairs per image.
    """
    root = bench.root
    paths = [str(root / p) for p in (*bench.queries, *bench.references)]
    methods = layer_methods(layers)
    t0 = time.perf_counter()
    fs = extract_features(paths, methods, jobs=jobs, progress=progress, executor=executor)
    seconds = time.perf_counter() - t0
    if len(fs.paths) != len(paths):  # rows must line up with the paths: fail loudly
        bad = "; ".join(f"{f.path}: {f.reason}" for f in fs.failures[:3])
        raise ValueError(f"engine candidates: {len(fs.failures)} images failed ({bad})")
    n, n_q = len(paths), len(bench.queries)
    att = np.asarray(bench.attack, dtype=object)
    sev = np.asarray(bench.severity, dtype=object)
    out: dict[str, Any] = {"layers": list(layers), "images": n, "features_seconds": seconds}
    variants = [("without_regions", False, False), ("engine", True, True)]
    if "embed" in fs.features:
        variants.insert(1, ("without_embed", True, False))
    for label, regions, embed in variants:
        t1 = time.perf_counter()
        key = candidate_pairs(fs, methods, regions=regions, embed=embed)
        found = _proposed(bench, key, n, n_q)
        linked = _reachable(bench, key, n, n_q)
        pos = bench.positive

        def share(rows: np.ndarray, found: np.ndarray = found) -> float | None:
            k = int(rows.sum())
            return float(found[rows].sum() / k) if k else None

        def reach(rows: np.ndarray, linked: np.ndarray = linked) -> float | None:
            return share(rows, linked)

        out[label] = {
            "candidates": len(key),
            "candidates_per_image": len(key) / max(1, n),
            "seconds": time.perf_counter() - t1,
            "recall": share(pos),
            "per_attack": {a: share(pos & (att == a)) for a in dict.fromkeys(att[pos])},
            "per_severity": {v: share(pos & (sev == v)) for v in dict.fromkeys(sev[pos])},
            "per_attack_severity": {
                f"{a}-{v}": share(pos & (att == a) & (sev == v))
                for a, v in dict.fromkeys(zip(att[pos], sev[pos], strict=True))
            },
            "reachable": reach(pos),
            "reachable_per_attack": {a: reach(pos & (att == a)) for a in dict.fromkeys(att[pos])},
            "reachable_per_attack_severity": {
                f"{a}-{v}": reach(pos & (att == a) & (sev == v))
                for a, v in dict.fromkeys(zip(att[pos], sev[pos], strict=True))
            },
        }
    return out


def run_benchmark(
    root: str | Path,
    method_names: Sequence[str | Method] | None = None,
    *,
    jobs: int = 1,
    candidates: int = 5,
    engine: bool = True,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Score the benchmark in ``root`` and return the report (the ``--json`` shape).

    ``engine``: also measure the matching engine's candidate recall
    (:func:`engine_candidates`, under ``"engine_candidates"``). ``executor``: where
    images are decoded and pairs scored (default ``jobs`` local processes).
    """
    bench = load_benchmark(root)
    names = list(method_names or EVAL_METHODS)
    methods: list[Method] = []
    skipped: dict[str, str] = {}
    for n in names:
        try:
            methods.append(n if isinstance(n, Method) else get_method(n))
        except Exception as exc:  # a method still being written: report it, go on
            skipped[str(n)] = f"{type(exc).__name__}: {exc}"
    if not methods:
        raise ValueError(f"no usable method among {names}: {skipped}")
    t0 = time.perf_counter()
    scores, cand = score_benchmark(
        bench, methods, jobs=jobs, candidates=candidates, progress=progress, executor=executor
    )
    report: dict[str, Any] = {
        "benchmark": str(root),
        "queries": len(bench.queries),
        "references": len(bench.references),
        "positives": bench.n_positives,
        "candidates_per_shortlist": candidates,
        "candidate_recall": float(cand[bench.labels()].mean()) if bench.n_positives else None,
        "skipped": skipped,
        "methods": {},
    }
    for m in methods:
        ms = scores[m.name]
        r = evaluate_scores(bench, ms.similarity, m.thresholds.similar)
        r.update(
            kind=m.kind,
            scoring="candidates" if (m.kind == "pair" or m.name in EXPENSIVE) else "all pairs",
            ms_per_image=ms.ms_per_image,
            ms_per_pair=ms.ms_per_pair,
            failures=ms.failures,
        )
        report["methods"][m.name] = r
    casc, _tier = cascade_scores(scores)
    r = evaluate_scores(bench, casc, 1.0 / 3.0)  # score >= 1/3: verdict similar or identical
    r.update(kind="cascade", scoring="cascade", methods=[m.name for m in methods])
    report["methods"]["cascade"] = r
    if engine:
        report["engine_candidates"] = engine_candidates(
            bench, jobs=jobs, progress=progress, executor=executor
        )
    report["seconds"] = time.perf_counter() - t0
    report["_curves"] = {
        n: _curve(scores[n].similarity if n in scores else casc, bench)
        for n in [*scores, "cascade"]
    }
    return report


def _curve(sims: np.ndarray, bench: Benchmark) -> tuple[np.ndarray, np.ndarray]:
    scored = ~np.isnan(sims)
    p, r, _ = precision_recall(sims[scored], bench.labels()[scored], bench.n_positives)
    return p, r
