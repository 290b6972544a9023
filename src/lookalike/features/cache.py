"""Features from the catalog when it has them, else computed and stored: the cache.

Decoding dominates the cost of fingerprinting, and collections change little between
runs: :func:`cached_features` asks the :class:`~lookalike.store.catalog.Catalog` for what it
holds, decodes only new or changed files (in ``jobs`` worker processes), and commits each
chunk before the next starts, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.decode import probe
from lookalike.engines import Executor, consumed, one_by_one
from lookalike.errors import Failure, LookalikeError, UsageError
from lookalike.features import CHUNK, FeatureSet, decode_plan, extract_features
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
    #: Of ``cached``: files a killed run had finished, committed from its shards.
    resumed: int = 0

    def to_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _read(e: Entry) -> tuple[bytes | None, bytes]:
    """A file's bytes (None for a plain file over :data:`INLINE_BYTES`: read it by path)
    and digest. Raises OSError, or LookalikeError for a refused file."""
    if e.size > MAX_FILE_BYTES:
        raise LookalikeError(
            e.path, f"too large for an image file: {e.size:,} bytes (limit {MAX_FILE_BYTES:,})"
        )
    if e.archive is None and e.size > INLINE_BYTES:
        return None, file_digest(e.path)
    data = e.read()
    return data, content_digest(data)


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
            data, digest = _read(e)
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


def _source(e: Entry, data: bytes | None) -> Any:
    """What the decoder reads for an entry: its bytes named by its path, or its path."""
    if data is None:  # a large plain file: the workers read it from its path
        return e.path
    bio = io.BytesIO(data)
    bio.name = e.path  # extract_features names results by source_name: the path
    return bio


def _records(
    fs: FeatureSet,
    facts: dict[str, tuple[Entry, bytes, int | None, int | None]],
    keys: Sequence[str],
    names: Sequence[str],
) -> list[Record]:
    """The catalog records of an extracted chunk: each file's facts and features by key
    (a failed file holds its Failure under every key)."""
    results: dict[str, dict[str, Any]] = {}
    for i, path in enumerate(fs.paths):
        results[path] = {k: fs.features[n][i] for k, n in zip(keys, names, strict=True)}
    for f in fs.failures:
        if f.lasting:  # a worker's death is about the moment: a later run tries again
            results[f.path] = dict.fromkeys(keys, f)
    return [
        Record(facts[p][0], feats, facts[p][1], facts[p][2], facts[p][3])
        for p, feats in results.items()
    ]


def _compute_shard(
    entries: list[Entry],
    methods: Sequence[Method],
    exact: bool,
    keys: Sequence[str],
    folder: str | None,
) -> tuple[list[Record], list[Failure], str | None]:
    """One task of a distributed engine, run on a worker: read, digest and decode
    ``entries`` by path, write their records to a shard in ``folder`` (see
    :mod:`lookalike.store.shards`), and return them, the read failures (never stored:
    they are about the moment) and the shard's path."""
    sources: list[Any] = []
    facts: dict[str, tuple[Entry, bytes, int | None, int | None]] = {}
    failures: list[Failure] = []
    for e in entries:
        try:
            data, digest = _read(e)
        except OSError as exc:
            failures.append(Failure(e.path, f"cannot read: {exc.strerror or exc}"))
            continue
        except LookalikeError as exc:
            failures.append(Failure(e.path, exc.reason))
            continue
        sources.append(_source(e, data))
        facts[e.path] = (e, digest, *_dims(e.path if data is None else data))
    fs = extract_features(sources, methods, jobs=1, exact=exact)
    records = _records(fs, facts, keys, [m.name for m in methods])
    shard = None
    if folder is not None and records:
        from lookalike.store.shards import shard_name, write_shard

        shard = str(write_shard(folder, shard_name(entries, keys), records))
    return records, failures, shard


def _shard_list(shard: str | list[str] | None) -> list[str]:
    """The shard paths a task's result names: one, none, or (a split task) several."""
    if shard is None:
        return []
    return [shard] if isinstance(shard, str) else list(shard)


def _resume(catalog: Catalog, folder: Path, missing: Sequence[Entry]) -> int:
    """Commit the shards an interrupted run left in ``folder``: the records of files still
    missing and unchanged since; then delete the shards. The number of files committed."""
    from lookalike.store.shards import read_shard, remove_stale, shard_files

    remove_stale(folder)
    wanted = {(e.path, e.size, e.mtime_ns, e.ctime_ns): e for e in missing}
    n = 0
    for path in shard_files(folder):
        try:
            records = read_shard(path)
        except Exception:  # a shard this version cannot read: its files are computed again
            records = []
        keep = [
            Record(wanted[k], r.features, r.digest, r.width, r.height)
            for r in records
            if (k := (r.entry.path, r.entry.size, r.entry.mtime_ns, r.entry.ctime_ns)) in wanted
        ]
        if keep:
            n += catalog.store(keep)
        path.unlink(missing_ok=True)
    return n


def _distributed(
    missing: Sequence[Entry],
    methods: Sequence[Method],
    keys: Sequence[str],
    catalog: Catalog,
    executor: Executor,
    *,
    exact: bool,
    folder: Path | None,
    tick: Progress,
) -> tuple[dict[str, dict[str, Any]], dict[str, Failure], int]:
    """Compute ``missing`` as tasks of ``executor`` that read the files themselves; commit
    each task's records as it returns. Features by path, read failures, tasks run."""
    size = max(1, min(CHUNK, -(-len(missing) // (4 * executor.workers))))
    parts = [list(missing[i : i + size]) for i in range(0, len(missing), size)]
    where = None if folder is None else str(folder)
    computed: dict[str, dict[str, Any]] = {}
    failures: dict[str, Failure] = {}
    done = 0
    calls = [(part, methods, exact, keys, where) for part in parts]

    def merged(singles: list[tuple[list[Record], list[Failure], Any]]) -> tuple[Any, ...]:
        """One task's result from its files' results, one task each."""
        return (
            [r for one, _, _ in singles for r in one],
            [f for _, one, _ in singles for f in one],
            [path for _, _, shard in singles for path in _shard_list(shard)],
        )

    def failed(entry: Entry, reason: str) -> tuple[list[Record], list[Failure], None]:
        return [], [Failure(entry.path, reason)], None  # not stored: a later run tries again

    # a task whose worker died on every try runs again one task per file: only the file
    # that crashes the decoder fails, the others are computed
    crashed = one_by_one(executor, _compute_shard, merged, failed)
    with consumed(executor.map(_compute_shard, calls, on_crash=crashed)) as mapped:
        for part, (records, read_failures, shard) in zip(parts, mapped, strict=True):
            catalog.store(records)
            for written in _shard_list(shard):  # committed: the catalog holds it now
                Path(written).unlink(missing_ok=True)
            computed.update((r.entry.path, r.features) for r in records)
            failures.update((f.path, f) for f in read_failures)
            done += len(part)
            tick("features", done, len(missing))
    if folder is not None:
        with contextlib.suppress(OSError):  # left only when empty: nothing is pending
            folder.rmdir()
    return computed, failures, len(parts)


def cached_features(
    entries: Sequence[Entry],
    methods: Sequence[Method],
    catalog: Catalog,
    *,
    jobs: int = 1,
    exact: bool = False,
    progress: Progress | None = None,
    chunk: int | None = None,
    executor: Executor | None = None,
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

    ``executor``: where files are decoded (default ``jobs`` local processes). A
    distributed engine (:class:`~lookalike.engines.cluster.RayExecutor`) reads, hashes
    and decodes the files on its workers; each task writes a Parquet shard beside the
    catalog (:mod:`lookalike.store.shards`) before the driver commits it, and a run
    after a killed one commits the shards it left first (``CacheStats.resumed``). The
    catalog comes out the same as with the local engine.
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
    distributed = executor is not None and executor.distributed
    folder = None
    if distributed and missing:
        folder = catalog.shards_path
        stats.resumed = _resume(catalog, folder, missing)
        if stats.resumed:
            cached, missing = catalog.lookup(unique, keys)
    stats.cached = len(cached)
    done = len(cached)
    if progress and cached:
        progress("features", done, len(unique))
    computed: dict[str, dict[str, Any]] = {}
    read_failures: dict[str, Failure] = {}
    if distributed and missing:
        assert executor is not None

        def tick_all(stage: str, n: int, total: int) -> None:
            if progress:
                progress(stage, done + n, len(unique))

        computed, read_failures, stats.chunks = _distributed(
            missing, methods, keys, catalog, executor, exact=exact, folder=folder, tick=tick_all
        )
        stats.computed = len(missing)
        missing = []
    workers = (os.cpu_count() or 1) if jobs == 0 else max(jobs, 1)
    size = chunk or max(CHUNK_FILES, 32 * workers)
    for part in _chunks(missing, size, read_failures):
        sources: list[Any] = []
        facts: dict[str, tuple[Entry, bytes, int | None, int | None]] = {}
        for e, data, digest in part:
            sources.append(_source(e, data))
            facts[e.path] = (e, digest, *_dims(e.path if data is None else data))
        offset = done

        def tick(stage: str, n: int, total: int, offset: int = offset) -> None:
            if progress:
                progress(stage, offset + n, len(unique))

        fs = extract_features(sources, methods, jobs=jobs, exact=exact, progress=tick)
        read_failures.update((f.path, f) for f in fs.failures if not f.lasting)
        done += len(part)
        records = _records(fs, facts, keys, names)
        catalog.store(records)
        computed.update((r.entry.path, r.features) for r in records)
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
