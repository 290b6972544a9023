"""Features from the catalog when it has them, else computed and stored: the cache.

Decoding dominates the cost of fingerprinting, and collections change little between
runs: :func:`cached_features` asks the :class:`~lookalike.store.catalog.Catalog` for what it
holds, decodes only new or changed files (in ``jobs`` worker processes), and commits each
chunk before the next starts, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lookalike.decode import probe
from lookalike.errors import Failure, LookalikeError, UsageError
from lookalike.features import FeatureSet, decode_plan, extract_features
from lookalike.methods.base import Method
from lookalike.progress import Progress
from lookalike.sources.folders import Entry
from lookalike.store.catalog import Catalog, Record, content_digest, file_digest

__all__ = ["CHUNK_FILES", "CacheStats", "cached_features", "method_key"]

#: Files per transaction in :func:`cached_features` (at least; more with many workers).
CHUNK_FILES = 64
#: Bytes of file content held in memory per chunk, at most (roughly).
CHUNK_BYTES = 256 * 1024 * 1024
#: Plain files larger than this are decoded from their path, never held in memory whole.
INLINE_BYTES = 32 * 1024 * 1024
#: Files larger than this are refused: no image a person keeps is this large, and a file
#: that claims to be one (a sparse or padded ``.jpg``) would only cost time.
MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024


def method_key(method: Method, *, exact: bool = False, plan: dict[str, Any] | None = None) -> str:
    """The string that names what a method computes: its name, options and decoding.

    A method may set ``cache_key`` (a str) to name itself; otherwise the key is the name
    followed by its scalar instance attributes, sorted, and the class attribute ``version``
    when it has one (bump it when the algorithm changes, to invalidate cached rows).
    ``exact`` (imagehash-compatible decoding, see :func:`extract_features`) adds ``:raw``;
    otherwise ``plan`` (:func:`~lookalike.features.decode_plan` of the methods computed
    together) adds ``@MODE/MIN_SIZE``: the decoded pixels, hence the features, depend on
    the colour mode and draft size the *whole* method set asked for.
    """
    explicit = getattr(method, "cache_key", None)
    if isinstance(explicit, str):
        key = explicit
    else:
        opts = {
            k: v
            for k, v in vars(method).items()
            if not k.startswith("_") and isinstance(v, bool | int | float | str)
        }
        version = getattr(type(method), "version", None)
        if version is not None:
            opts["version"] = version
        key = method.name
        if opts:
            key += ":" + ",".join(f"{k}={v}" for k, v in sorted(opts.items()))
    if exact:
        return key + ":raw"
    if plan is not None:
        key += f"@{plan['mode']}/{plan['min_size']}"
    return key


@dataclass
class CacheStats:
    """What a :func:`cached_features` run did: files served from the catalog, decoded, failed."""

    total: int = 0
    cached: int = 0
    computed: int = 0
    failed: int = 0
    seconds: float = 0.0
    chunks: int = 0

    def to_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _chunks(
    entries: Sequence[Entry], size: int, failures: dict[str, Failure]
) -> Iterator[list[tuple[Entry, bytes | None, bytes]]]:
    """Read entries in the parent, grouped by count and bytes; read errors go to failures.

    Each item is ``(entry, bytes or None, digest)``: plain files over :data:`INLINE_BYTES`
    are not read into memory (None; the workers open the path), files over
    :data:`MAX_FILE_BYTES` are refused.
    """
    chunk: list[tuple[Entry, bytes | None, bytes]] = []
    held = 0
    for e in entries:
        try:
            if e.size > MAX_FILE_BYTES:
                raise LookalikeError(
                    e.path,
                    f"too large for an image file: {e.size:,} bytes (limit {MAX_FILE_BYTES:,})",
                )
            if e.archive is None and e.size > INLINE_BYTES:
                data, digest = None, file_digest(e.path)
            else:
                data = e.read()
                digest = content_digest(data)
        except OSError as exc:
            failures[e.path] = Failure(e.path, f"cannot read: {exc.strerror or exc}")
            continue
        except LookalikeError as exc:
            failures[e.path] = Failure(e.path, exc.reason)
            continue
        chunk.append((e, data, digest))
        held += len(data) if data is not None else 0
        if len(chunk) >= size or held >= CHUNK_BYTES:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _dims(data: bytes | str) -> tuple[int | None, int | None]:
    try:
        info = probe(data)
        return info.width, info.height
    except Exception:  # unknown size is fine: the decoder will say what is wrong
        return None, None


def _assemble(rows: list[Any]) -> Any:
    """Rows of one method back into extract_features' shape: an ndarray, or a list."""
    if not rows:
        return []
    if all(isinstance(r, np.ndarray) for r in rows):
        return np.stack(rows)
    return rows


def cached_features(
    entries: Sequence[Entry],
    methods: Sequence[Method],
    catalog: Catalog,
    *,
    jobs: int = 1,
    exact: bool = False,
    progress: Progress | None = None,
    chunk: int | None = None,
) -> tuple[FeatureSet, CacheStats]:
    """Features of every entry for every method: from the catalog, else computed and stored.

    The result is what :func:`~lookalike.features.extract_features` would return for the
    entries' paths, in the entries' order (a path given twice counts once). Missing files
    are read here (once: the bytes are hashed, their header probed, then decoded by
    ``jobs`` workers) and stored in chunks of ``chunk`` files (default: at least
    :data:`CHUNK_FILES`, 32 per worker), each committed before the next starts.
    ``progress("features", done, total)`` counts files finished, cached ones first.
    Files over :data:`INLINE_BYTES` are not held in memory: their digest is computed
    while streaming, and the workers open them by path.
    """
    t0 = time.perf_counter()
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise UsageError(f"each method may be asked once: {names}")
    plan = decode_plan(methods, exact)
    keys = [method_key(m, exact=exact, plan=plan) for m in methods]
    first: dict[str, Entry] = {}
    for e in entries:
        first.setdefault(e.path, e)
    unique = list(first.values())
    stats = CacheStats(total=len(unique))
    cached, missing = catalog.lookup(unique, keys)
    stats.cached = len(cached)
    done = len(cached)
    if progress and cached:
        progress("features", done, len(unique))
    workers = (os.cpu_count() or 1) if jobs == 0 else max(jobs, 1)
    size = chunk or max(CHUNK_FILES, 32 * workers)
    computed: dict[str, dict[str, Any]] = {}
    read_failures: dict[str, Failure] = {}
    for part in _chunks(missing, size, read_failures):
        sources: list[Any] = []
        facts: dict[str, tuple[Entry, bytes, int | None, int | None]] = {}
        for e, data, digest in part:
            if data is None:  # a large plain file: the workers read it from its path
                sources.append(e.path)
                facts[e.path] = (e, digest, *_dims(e.path))
                continue
            bio = io.BytesIO(data)
            bio.name = e.path  # extract_features names results by source_name: the path
            sources.append(bio)
            facts[e.path] = (e, digest, *_dims(data))
        offset = done

        def tick(stage: str, n: int, total: int, offset: int = offset) -> None:
            if progress:
                progress(stage, offset + n, len(unique))

        fs = extract_features(sources, methods, jobs=jobs, exact=exact, progress=tick)
        done += len(part)
        results: dict[str, dict[str, Any]] = {}
        for i, path in enumerate(fs.paths):
            results[path] = {k: fs.features[n][i] for k, n in zip(keys, names, strict=True)}
        for f in fs.failures:
            results[f.path] = dict.fromkeys(keys, f)
        catalog.store(
            Record(facts[p][0], feats, facts[p][1], facts[p][2], facts[p][3])
            for p, feats in results.items()
        )
        computed.update(results)
        stats.computed += len(part)
        stats.chunks += 1
    if progress and read_failures:
        progress("features", len(unique), len(unique))
    out = FeatureSet()
    rows: dict[str, list[Any]] = {n: [] for n in names}
    for e in unique:
        feats = cached[e.path] if e.path in cached else computed.get(e.path)
        if feats is None:
            out.failures.append(read_failures[e.path])
            continue
        failure = next((v for v in feats.values() if isinstance(v, Failure)), None)
        if failure is not None:
            out.failures.append(Failure(e.path, failure.reason))
            continue
        out.paths.append(e.path)
        for k, n in zip(keys, names, strict=True):
            rows[n].append(feats[k])
    out.features = {n: _assemble(r) for n, r in rows.items()}
    stats.failed = len(out.failures)
    stats.seconds = time.perf_counter() - t0
    return out, stats
