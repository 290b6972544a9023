"""A persistent, searchable collection of images: index once, search by example many times.

A collection is a folder::

    DIR/collection.json   its configuration (backend, Milvus / PostgreSQL URI, methods, ...)
    DIR/catalog.sqlite    the SQLite catalog: files and their features (the source of truth)
    DIR/index.npz         the embedded FAISS index (or a Milvus / PostgreSQL table, by URI)
    DIR/uploads/          images added through the API (:meth:`Collection.add`)
    DIR/videos.sqlite     the videos found by content, one fingerprint each (created when
                          the first update finds a video; :mod:`lookalike.video.store`)

Writes are safe to interrupt: features are committed to the catalog in chunks (a rerun
resumes where it stopped), and the index is a derived copy written atomically (temporary
file + ``os.replace``) together with a *state*: a fingerprint of the catalog rows it
reflects and the newest row time it has seen. On open, a missing, corrupt or stale index is
detected by that fingerprint and brought up to date from the catalog, incrementally when
its state can be trusted, else rebuilt.

Search (:meth:`Collection.search`): the query's pHash and its 7 rotated / mirrored codes
(``phash8``) are searched in the index (exact k-NN in Hamming distance), and the images
sharing the most IDF-weighted ORB visual words with the query (``words``, held in memory
for collections of up to 100,000 images) join them; the candidates are scored by the
cascade's cheap layers from the stored features (pHash-8, colour, content), and those
still called different are verified with ORB keypoints and RANSAC (crops, rotations,
pasted copies), the visual-word candidates first; ORB keypoints are cached in the catalog
on first use. A collection made with a model (``model="default"``, the shipped copy-embed,
or an ONNX file; ``lookalike index --model``) also stores each image's learned descriptor
(``embed``): the query's nearest descriptors (up to
:data:`~lookalike.match.engine.EMBED_NEIGHBOURS` within cosine
:data:`~lookalike.match.engine.EMBED_CANDIDATE`, as in ``dupes``) join the candidates and
are verified first, and a candidate under
:data:`~lookalike.match.engine.EMBED_DIFFERENT` is not verified at all. The descriptors
are searched where the backend keeps them: in memory on the embedded one (like the words,
up to 100,000 images), in a descriptor index beside the codes on Milvus and PostgreSQL
(:func:`~lookalike.store.index.open_vectors`, synced like the codes). Hits are ranked
exact copies of the query first, then identical, then similar, each by similarity, ties by
pHash distance and id (:mod:`.ranking`). Every
catalog read goes through :class:`~lookalike.store.catalog.Catalog`. On 1,000 photos (38
wallpapers and edited copies) the visual words raised the queries whose first hit was
right from 33 to 37 of 38 half-area crops and from 4 to 15 of 38 pasted copies.

Videos: :meth:`Collection.update` also fingerprints the videos it finds (by content) with
:mod:`lookalike.video` (1 frame per second, faster for clips under 30 s; blank frames
flagged). A still image as a query also finds, among its results, each video with a frame
within :data:`~lookalike.video.align.FRAME_DISTANCE` bits of it, at that frame's time
(``"video": true, "time": seconds``); a video as a query finds the stored videos that
match it (:func:`~lookalike.video.match_videos`: frame shares and time segments).
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from lookalike.decode import load, probe
from lookalike.engines import Executor
from lookalike.errors import CollectionError, DecodeError, Failure, LookalikeError, UsageError
from lookalike.features import decode_plan, extract_features
from lookalike.features.cache import cached_features, method_key
from lookalike.formats import HEAD_BYTES, VIDEO_HEAD_BYTES, sniff, sniff_video
from lookalike.match.cascade import Score, decide, score_rows
from lookalike.match.engine import EMBED_CANDIDATE, EMBED_DIFFERENT, EMBED_NEIGHBOURS
from lookalike.match.relation import PairRelation, relate
from lookalike.methods import Method, get_method
from lookalike.progress import Progress
from lookalike.search.ranking import (
    hit_tiers,
    merge_ranked,
    nearest_unique,
    rank_hits,
    top_scored,
    verify_order,
    word_postings,
    word_scores,
)
from lookalike.sources.folders import Entry, scan
from lookalike.store.atomic import atomic_write, read_state, write_json_atomic
from lookalike.store.catalog import (
    Catalog,
    FileRow,
    content_digest,
    decode_feature,
    file_digest,
    is_database_uri,
    open_catalog,
)
from lookalike.store.index import BACKENDS, CodeIndex, VectorIndex, open_index, open_vectors

if TYPE_CHECKING:
    from lookalike.video.store import VideoStore

__all__ = ["Collection", "SearchHit", "SearchResult", "UpdateStats"]

T = TypeVar("T")

CONFIG_FILE = "collection.json"
CATALOG_FILE = "catalog.sqlite"
VIDEOS_FILE = "videos.sqlite"
#: A still this near a sampled frame (bits) is taken at that sample, not decoded around it:
#: a JPEG screenshot of a sampled frame is 0-4 bits from it (tests/search).
_EXACT_FRAME = 4
UPLOADS = "uploads"
FORMAT = 1
#: The methods stored for every image: hashes, colour, content, and the ORB visual words
#: that find crops and pasted copies; full ORB keypoints are cached on demand.
METHODS: tuple[str, ...] = ("phash8", "color", "content", "words")
#: Candidates found by shared visual words per query (verified by ORB first).
WORD_CANDIDATES = 8
#: Collections larger than this are searched without the visual-word candidates
#: (their inverted index, ~4 bytes per word an image holds, ~800 words each, would take
#: more than ~330 MB of memory).
WORD_SEARCH_LIMIT = 100_000
#: Learned descriptors are held in memory for collections up to this size (1 KB each for
#: copy-embed's 256 floats: 100 MB)
EMBED_SEARCH_LIMIT = 100_000
#: Candidates taken from the index per query (at least ``k``).
CANDIDATES = 64
#: Candidates the cheap layers call different that ORB verifies, nearest first.
VERIFY_TOP = 16
#: Threads that verify one query's candidates (OpenCV releases the GIL while matching).
VERIFY_THREADS = max(1, min(4, os.cpu_count() or 1))
_MAX_ERRORS = 1000  # scan errors remembered in the configuration
_ALIKE = ("identical", "similar")
#: The extension an upload is stored under, by its sniffed format (never the uploader's);
#: formats without a magic number are named by the decoder's (Pillow's) format.
UPLOAD_EXTENSIONS = {
    "jpeg": ".jpg", "png": ".png", "gif": ".gif", "bmp": ".bmp", "tiff": ".tif",
    "webp": ".webp", "ico": ".ico", "avif": ".avif", "heic": ".heic", "jpeg2000": ".jp2",
    "jxl": ".jxl", "psd": ".psd", "qoi": ".qoi", "dds": ".dds", "icns": ".icns", "pnm": ".pnm",
    "TGA": ".tga", "PCX": ".pcx",
}  # fmt: skip


@dataclass
class SearchHit:
    """One ranked result: the catalog id and path, and what decided it.

    A video hit (``video``) has its id in the collection's videos, the ``time`` (seconds)
    of its best-matching frame or, for a video query, where the matched part starts in it,
    and for a video query the matched ``segments`` and the query's frame ``share``.
    """

    id: int
    path: str
    similarity: float
    distance: float | int
    method: str
    width: int
    height: int
    verdict: str = "different"
    #: How the hit differs from the query (image 1 = the query), for alike hits.
    relation: PairRelation | None = None
    video: bool = False
    time: float | None = None
    segments: list[dict[str, Any]] | None = None
    share: float | None = None
    mirrored: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["similarity"] = round(float(self.similarity), 6)
        d["relation"] = self.relation.to_dict() if self.relation is not None else None
        if not self.video:  # image hits keep their shape
            for key in ("video", "time", "segments", "share", "mirrored"):
                del d[key]
            return d
        d["time"] = None if self.time is None else round(float(self.time), 3)
        for key in ("segments", "share"):
            if d[key] is None:
                del d[key]
        if not self.mirrored:  # said only when true
            del d["mirrored"]
        return d


@dataclass
class SearchResult:
    """The hits of one query, best first, and where the time went (seconds)."""

    query: str
    results: list[SearchHit] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "results": [h.to_dict() for h in self.results],
            "timings": {k: round(v, 6) for k, v in self.timings.items()},
        }


@dataclass
class UpdateStats:
    """What :meth:`Collection.update` did."""

    scanned: int = 0
    cached: int = 0
    computed: int = 0
    failed: int = 0
    removed: int = 0
    images: int = 0
    videos: int = 0
    seconds: float = 0.0
    errors: list[Failure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "errors"}
        d["errors"] = [f.to_dict() for f in self.errors]
        return d


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Collection:
    """A folder of indexed images searchable by example (see the module docstring).

    ``backend``: "faiss" (embedded, the default), "milvus" or "postgres"; when the folder
    already holds a collection it must match (use :meth:`migrate` to move). ``milvus_uri``:
    a server URI or a Milvus Lite file (default ``DIR/milvus.db``); the token comes from
    ``$LOOKALIKE_MILVUS_TOKEN``. ``postgres_uri``: the libpq URI of a PostgreSQL server
    with pgvector (password from ``$PGPASSWORD`` or ``~/.pgpass``, not the URI).
    ``create``: make the collection when the folder has none.
    ``catalog_uri``: keep the collection's catalog (files, features, failures) in this
    PostgreSQL database instead of ``DIR/catalog.sqlite``, given when the collection is
    made: collections on several machines that name one database index into one catalog,
    and each one's index follows all of it
    (:class:`~lookalike.store.catalog_postgres.PostgresCatalog`).
    ``model``: add the learned layer (``"default"``: the shipped copy-embed; else an ONNX
    file) to the collection, or change its model; the collection remembers it, so later
    opens need not name it. The next :meth:`update` computes the descriptors.
    Methods may be called from several threads (they are serialised).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        backend: str | None = None,
        create: bool = False,
        milvus_uri: str | None = None,
        postgres_uri: str | None = None,
        catalog_uri: str | None = None,
        model: str | os.PathLike[str] | None = None,
    ) -> None:
        self.directory = Path(os.path.abspath(os.fspath(directory)))
        self._config_path = self.directory / CONFIG_FILE
        # a model that fails to load (missing file, no onnxruntime) is said before anything
        # is written
        embed = None if model is None else get_method("embed", model=model)
        if catalog_uri is not None and not is_database_uri(catalog_uri):
            raise UsageError(f"a catalog URI starts with postgresql://, not {catalog_uri!r}")
        if backend is not None and backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}; choose from: {', '.join(BACKENDS)}")
        config = read_state(self._config_path)
        if not config:
            if self._config_path.exists():
                raise CollectionError(str(self._config_path), "unreadable collection file")
            if not create:
                raise CollectionError(
                    str(self.directory), "no collection here (create one with lookalike index)"
                )
            if catalog_uri is not None:  # unreachable or foreign: said before any write
                open_catalog(catalog_uri).close()
            self.directory.mkdir(parents=True, exist_ok=True)
            config = {
                "format": FORMAT,
                "backend": backend or "faiss",
                "milvus_uri": milvus_uri,
                "postgres_uri": postgres_uri,
                "catalog_uri": catalog_uri,
                "methods": list(METHODS),
                "created": _now(),
                "last_update": None,
                "errors": [],
            }
            write_json_atomic(self._config_path, config)
        if config.get("format") != FORMAT:
            raise CollectionError(str(self._config_path), "unsupported collection format")
        if backend is not None and backend != config["backend"]:
            raise CollectionError(
                str(self.directory),
                f"this collection uses the {config['backend']} backend; move it with "
                f"lookalike migrate --db DIR --to {backend}",
            )
        if catalog_uri is not None and catalog_uri != config.get("catalog_uri"):
            raise CollectionError(
                str(self.directory),
                "this collection keeps its catalog in "
                f"{config.get('catalog_uri') or CATALOG_FILE}; a catalog is chosen when the "
                "collection is made (index into a new --db folder)",
            )
        if milvus_uri is not None and config["backend"] == "milvus":
            config["milvus_uri"] = milvus_uri
        if postgres_uri is not None and config["backend"] == "postgres":
            config["postgres_uri"] = postgres_uri
        if model is not None:
            spec = "default" if os.fspath(model) == "default" else os.path.abspath(model)
            config["methods"] = [*(n for n in config["methods"] if n != "embed"), "embed"]
            config["model"] = spec
            write_json_atomic(self._config_path, config)
        self._methods: list[Method] = [
            (embed or get_method(n, model=config.get("model"))) if n == "embed" else get_method(n)
            for n in config["methods"]
        ]
        self._config = config
        self._lock = threading.RLock()
        self._local = threading.local()
        self._catalogs: list[Catalog] = []
        self._by_name = {m.name: m for m in self._methods}
        plan = decode_plan(self._methods)
        self._keys = {m.name: method_key(m, plan=plan) for m in self._methods}
        self._key8 = self._keys["phash8"]
        self._memo: dict[str, tuple[Any, Any]] = {}  # feature name -> (fingerprint, value)
        self._orb = get_method("orb")
        self._aspect = get_method("aspect")
        self._orb_key = method_key(self._orb, plan=decode_plan([self._orb]))
        self._video_store: VideoStore | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._catalog()  # creates the catalog file when new
        self._index = self._open_index(config["backend"])
        self._vectors: VectorIndex | None = None
        try:
            self._vectors = self._open_vectors(config["backend"])
            self._sync()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing

    def _server(self, backend: str) -> dict[str, Any]:
        """Where a backend's server is: its URI (from the configuration) and token."""
        return {
            "uri": self._config.get("postgres_uri" if backend == "postgres" else "milvus_uri"),
            "token": os.environ.get("LOOKALIKE_MILVUS_TOKEN"),
        }

    def _open_index(self, backend: str) -> CodeIndex:
        return open_index(backend, self.directory, **self._server(backend))

    def _open_vectors(self, backend: str) -> VectorIndex | None:
        """The server backend's index of learned descriptors (None without the learned
        layer, or on the embedded backend, which searches them in memory)."""
        embed = self._by_name.get("embed")
        if embed is None:
            return None
        dim = int(embed.dimensions)  # type: ignore[attr-defined]
        return open_vectors(backend, self.directory, dim=dim, **self._server(backend))

    def _catalog(self) -> Catalog:
        """This thread's catalog connection (sqlite3 connections stay in their thread)."""
        cat = getattr(self._local, "catalog", None)
        if cat is None:
            cat = open_catalog(self._config.get("catalog_uri") or self.directory / CATALOG_FILE)
            self._local.catalog = cat
            self._catalogs.append(cat)
        return cat

    def _feature_blobs(self, key: str, ids: np.ndarray) -> tuple[str, np.ndarray]:
        """The stored feature ``key`` of these files: (codec, ``(n, nbytes)`` uint8 rows
        aligned to ``ids``)."""
        fids, codec, blob = self._catalog().feature_rows(key, ids)
        if len(ids) == 0:
            return codec or "", blob[:0]
        pos = np.minimum(np.searchsorted(fids, ids), max(len(fids) - 1, 0))
        if len(fids) == 0 or not np.array_equal(fids[pos], ids):
            raise CollectionError(str(self.directory), "catalog changed while indexing")
        return codec or "", np.ascontiguousarray(blob[pos])

    def _codes(self, ids: np.ndarray) -> np.ndarray:
        """Plain (identity) 64-bit codes of these files, ``(n, 8)`` uint8, aligned to ids."""
        if len(ids) == 0:
            return np.empty((0, 8), np.uint8)
        return np.ascontiguousarray(self._feature_blobs(self._key8, ids)[1][:, :8])

    def _descriptors(self, ids: np.ndarray) -> np.ndarray:
        """Learned descriptors of these files, ``(n, dim)`` float32, aligned to ids."""
        codec, blob = self._feature_blobs(self._keys["embed"], ids)
        return _as_vectors(codec, blob)

    def _sync(self, *, force: bool = False) -> None:
        """Bring the index (and the descriptor index) up to date with the catalog."""
        _sync_rows(self._index, self._catalog(), self._key8, self._codes, force=force)
        if self._vectors is not None:
            _sync_rows(
                self._vectors,
                self._catalog(),
                self._keys["embed"],
                self._descriptors,
                force=force,
            )

    def _videos(self, *, create: bool = False) -> VideoStore | None:
        """The collection's video store; None when it holds no videos file (and not
        ``create``)."""
        if self._video_store is None:
            path = self.directory / VIDEOS_FILE
            if not create and not path.exists():
                return None
            from lookalike.video.store import VideoStore

            self._video_store = VideoStore(path)
        return self._video_store

    def _update_videos(
        self, roots: list[str], progress: Progress | None
    ) -> tuple[list[str], int, int, list[Failure], int]:
        """Fingerprint the new and changed videos under ``roots``, drop the ones gone.

        Returns (videos found, cached, computed, failures, removed).
        """
        from lookalike.video.collection import scan_videos
        from lookalike.video.fingerprint import fingerprint_video

        own = str(self.directory) + os.sep
        found, failures = scan_videos(roots)
        found = [p for p in found if not p.startswith(own)]
        failures = [f for f in failures if not f.path.startswith(own)]
        store = self._videos(create=bool(found))
        if store is None:
            return found, 0, 0, failures, 0
        cached = computed = 0
        for k, path in enumerate(found):
            try:
                st = os.stat(path)
            except OSError as exc:
                failures.append(Failure(path, f"cannot stat: {exc.strerror or exc}"))
                continue
            if store.unchanged(path, st.st_size, st.st_mtime_ns):
                cached += 1
                reason = store.error(path)
                if reason is not None:
                    failures.append(Failure(path, reason))
            else:
                computed += 1
                try:
                    fp = fingerprint_video(path)
                except LookalikeError as exc:
                    store.put(path, st.st_size, st.st_mtime_ns, None, exc.reason)
                    failures.append(Failure(path, exc.reason))
                else:
                    store.put(path, st.st_size, st.st_mtime_ns, fp)
            if progress:
                progress("videos", k + 1, len(found))
        seen = set(found)
        stale = [p for p in store.paths_under(roots) if p not in seen]
        removed = store.forget(stale) if stale else 0
        return found, cached, computed, failures, removed

    def _save_config(self) -> None:
        write_json_atomic(self._config_path, self._config)

    def _entries(
        self, paths: Iterable[str | os.PathLike[str]]
    ) -> tuple[list[Entry], list[Failure]]:
        """Scan ``paths``, leaving out the collection's own files (but not its uploads)."""
        own = str(self.directory) + os.sep
        uploads = str(self.directory / UPLOADS) + os.sep
        entries: list[Entry] = []
        failures: list[Failure] = []
        for item in scan(list(paths)):
            p = item.path
            if p.startswith(own) and not p.startswith(uploads):
                continue
            (entries if isinstance(item, Entry) else failures).append(item)
        return entries, failures

    # ------------------------------------------------------------------ writing

    def update(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        jobs: int = 1,
        progress: Progress | None = None,
        executor: Executor | None = None,
    ) -> UpdateStats:
        """Index new and changed images under ``paths`` and drop the ones gone from there.

        Only new or changed files (by size and modification time) are decoded; features
        are committed in chunks, so an interrupted update resumes; the index is written
        atomically at the end. ``progress("features", done, total)`` reports decoding.
        ``executor``: where files are decoded (default ``jobs`` local processes; see
        :func:`~lookalike.features.cache.cached_features` for a cluster).
        """
        t0 = time.perf_counter()
        roots = [os.path.abspath(os.fspath(p)) for p in paths]
        with self._lock:
            entries, scan_failures = self._entries(roots)
            fs, cache = cached_features(
                entries,
                self._methods,
                self._catalog(),
                jobs=jobs,
                progress=progress,
                executor=executor,
            )
            seen = {e.path for e in entries}
            stale = [p for p in self._catalog().paths_under(roots) if p not in seen]
            removed = self._catalog().forget(stale) if stale else 0
            self._sync()
            videos, v_cached, v_computed, v_failures, v_removed = self._update_videos(
                roots, progress
            )
            is_video = set(videos)  # named on the command line, not an image: a video
            scan_failures = [f for f in scan_failures if f.path not in is_video]
            known = seen | {f.path for f in scan_failures}  # images, and failures said once
            v_failures = [f for f in v_failures if f.path not in known]
            errors = scan_failures + fs.failures + v_failures
            self._config["last_update"] = _now()
            self._config["errors"] = [f.to_dict() for f in errors[:_MAX_ERRORS]]
            self._save_config()
            store = self._videos()
            return UpdateStats(
                scanned=len(entries) + len(scan_failures) + len(videos),
                cached=cache.cached + v_cached,
                computed=cache.computed + v_computed,
                failed=len(errors),
                removed=removed + v_removed,
                images=len(self._index),
                videos=store.counts()[0] if store is not None else 0,
                seconds=time.perf_counter() - t0,
                errors=errors,
            )

    def add(self, sources: Sequence[tuple[str, bytes]]) -> list[int]:
        """Store uploaded images under ``DIR/uploads/`` and index them; their catalog ids.

        Each source is ``(name, bytes)``; the name only names the upload in errors. The file
        is named by a digest of its bytes (a repeated upload is one file) and the extension
        of its sniffed format, never the uploader's. Raises DecodeError naming the upload
        when one is not a readable image (nothing is indexed then).
        """
        folder = self.directory / UPLOADS
        planned: list[tuple[Path, bytes]] = []
        for name, data in sources:
            load(io.BytesIO(data), mode="L", min_size=64, name=name)  # DecodeError: refuse
            ext = _upload_extension(name, data)
            digest = content_digest(data).hex()
            planned.append((folder / f"{digest}{ext}", data))
        with self._lock:
            folder.mkdir(exist_ok=True)
            for path, data in planned:
                if not path.exists():
                    with atomic_write(path, "wb") as fh:
                        fh.write(data)
            paths = [str(p) for p, _ in planned]
            entries, failures = self._entries(paths)
            fs, _ = cached_features(entries, self._methods, self._catalog())
            failures += fs.failures
            self._sync()
            if failures:
                raise DecodeError(failures[0].path, failures[0].reason)
            ids = self._catalog().ids_of(paths)
            for (name, _), path in zip(sources, paths, strict=True):
                if path not in ids:  # the scanner passed it by: never expected
                    raise DecodeError(name, "not indexed")
            return [ids[p] for p in paths]

    def remove(self, paths: Iterable[str | os.PathLike[str]]) -> int:
        """Forget these images (uploaded copies are deleted too); how many were removed."""
        wanted = [os.path.abspath(os.fspath(p)) for p in paths]
        uploads = str(self.directory / UPLOADS) + os.sep
        with self._lock:
            n = self._catalog().forget(wanted)
            self._sync()
            for p in wanted:
                if p.startswith(uploads):
                    with contextlib.suppress(OSError):
                        os.unlink(p)
            return n

    def migrate(
        self, to: str, *, milvus_uri: str | None = None, postgres_uri: str | None = None
    ) -> dict[str, Any]:
        """Move the index to another backend (rebuilt from the catalog); the new stats.

        The old backend's data is deleted once the new one is committed.
        """
        if to not in BACKENDS:
            raise UsageError(f"unknown backend {to!r}; choose from: {', '.join(BACKENDS)}")
        with self._lock:
            old, old_config = self._index, dict(self._config)
            uri = {"milvus": milvus_uri, "postgres": postgres_uri}.get(to)
            same = to == old_config["backend"] and uri in (None, old_config.get(f"{to}_uri"))
            if same:
                self._sync(force=True)
                return self.stats()
            if to != "faiss":
                self._config[f"{to}_uri"] = uri
            old_vectors = self._vectors
            new = self._open_index(to)
            self._index = new
            try:
                self._vectors = self._open_vectors(to)
                self._sync(force=True)
            except BaseException:
                if self._vectors is not None and self._vectors is not old_vectors:
                    self._vectors.close()
                self._index, self._vectors, self._config = old, old_vectors, old_config
                new.close()
                raise
            self._config["backend"] = to
            self._save_config()
            if old.backend in ("milvus", "postgres"):
                old.drop()  # type: ignore[attr-defined]
            else:
                old.clear()
            old.close()
            if old_vectors is not None:
                old_vectors.drop()
                old_vectors.close()
            return self.stats()

    # ------------------------------------------------------------------ reading

    def _records(self, ids: Sequence[int]) -> dict[int, FileRow]:
        return self._catalog().files(ids)

    def _stored(self, ids: Sequence[int]) -> dict[int, dict[str, np.ndarray]]:
        """Stored cheap features of these files: id -> {method name: row}."""
        names = {k: n for n, k in self._keys.items()}
        stored = self._catalog().feature_arrays(ids, list(names))
        return {fid: {names[k]: row for k, row in rows.items()} for fid, rows in stored.items()}

    def _in_memory(
        self, name: str, limit: int, build: Callable[[np.ndarray, str, np.ndarray], T]
    ) -> T | None:
        """``build(ids, codec, blobs)`` of every stored ``name`` feature, cached until the
        index changes; None when the collection stores none or more than ``limit``."""
        key = self._keys.get(name)
        if key is None:
            return None
        fingerprint = self._index.state().get("fingerprint")
        memo = self._memo.get(name)
        if memo is not None and memo[0] == fingerprint:
            return memo[1]
        count, _ = self._catalog().feature_counts(key)
        if count == 0 or count > limit:
            return None
        ids, codec, blobs = self._catalog().feature_rows(key)
        value = build(ids, codec or "", blobs)
        self._memo[name] = (fingerprint, value)
        return value

    def _word_candidates(self, query_code: np.ndarray) -> list[int]:
        """Ids of the images sharing the most (IDF-weighted) visual words with the query."""
        matrix = self._in_memory(
            "words", WORD_SEARCH_LIMIT, lambda ids, _, codes: (ids, word_postings(codes))
        )
        if matrix is None:
            return []
        ids, postings = matrix
        scores = word_scores(query_code, postings)
        return top_scored(ids, scores, WORD_CANDIDATES).tolist()

    def _embed_candidates(self, query: np.ndarray) -> list[int]:
        """Ids of the (up to :data:`EMBED_NEIGHBOURS`) stored descriptors nearest to the
        query's, within cosine :data:`EMBED_CANDIDATE`."""

        q = np.asarray(query, np.float32).reshape(-1)
        if self._vectors is not None:  # a server backend: its descriptor index answers
            if self._vectors.dim != len(q):
                return []
            found, sims = self._vectors.search(q[None, :], EMBED_NEIGHBOURS)
            keep = (found[0] >= 0) & (sims[0] >= EMBED_CANDIDATE)
            return [int(i) for i in found[0][keep]]

        def matrix(ids: np.ndarray, codec: str, blobs: np.ndarray) -> tuple[np.ndarray, ...]:
            return ids, _as_vectors(codec, blobs)

        held = self._in_memory("embed", EMBED_SEARCH_LIMIT, matrix)
        if held is None:
            return []
        ids, vectors = held
        if vectors.shape[1] != len(q):
            return []
        scores = vectors @ q
        scores[scores < EMBED_CANDIDATE] = -np.inf
        return [int(i) for i in top_scored(ids, scores, EMBED_NEIGHBOURS)]

    def _verify_local(
        self, source: Any, cands: list[int], records: dict[int, FileRow]
    ) -> dict[int, Score]:
        """ORB + RANSAC scores of the query against these candidates (cached features)."""
        q = extract_features([source], [self._orb])
        if q.failures or not len(q):
            return {}
        entries: dict[str, int] = {}
        batch: list[Entry] = []
        for cid in cands:
            r = records[cid]
            try:
                st = os.stat(r.archive or r.path)
            except OSError:
                continue
            if r.archive is None and (st.st_size, st.st_mtime_ns) != (r.size, r.mtime_ns):
                continue  # changed since indexing: the next update decides it
            batch.append(r.entry())
            entries[r.path] = cid
        if not batch:
            return {}
        fs, _ = cached_features(batch, [self._orb], self._catalog())
        feats = fs.features.get(self._orb.name, [])
        if not len(fs):
            return {}
        qf = q.features[self._orb.name][0]
        # OpenCV's matching and RANSAC release the GIL: the candidates are matched in
        # threads, so one query uses every core (a search with 16 candidates to verify
        # spent ~120 ms of its ~200 ms here on one core).
        scores = self._threads().map(lambda fb: score_rows(self._orb, [qf], [fb])[0], feats)
        return {entries[p]: s for p, s in zip(fs.paths, scores, strict=True)}

    def _threads(self) -> ThreadPoolExecutor:
        """The pool that verifies one query's candidates in parallel (made on first use)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="verify")
            return self._pool

    def search(
        self, query: str | bytes | os.PathLike[str], *, k: int = 20, verify: bool = True
    ) -> SearchResult:
        """The ``k`` images most like ``query`` (a path or the image's bytes), best first.

        ``verify``: score the candidates with the cascade (hashes, colour, content, then
        ORB for those still different) and rank similar ones first; without it the hits
        are the nearest pHash codes (rotations and mirror images included). Either way an
        exact copy of the query (the same bytes; with ``verify`` also the same pixels:
        distance 0 on every stored code) comes first (see :mod:`lookalike.search.ranking`).
        """
        if k <= 0:
            raise UsageError("k must be positive")
        t0 = time.perf_counter()
        if isinstance(query, bytes | bytearray):
            name = f"<{len(query)} bytes>"
            source: Any = io.BytesIO(bytes(query))
            source.name = name
            digest: bytes | None = content_digest(bytes(query))
        else:
            name = source = os.fspath(query)
            digest = None
        if _is_video_query(query):
            return self._search_video(query, name, k, t0)
        # the query's original size comes with its one decode (the relation's "resized")
        sized = self._methods if "aspect" in self._by_name else [*self._methods, self._aspect]
        fs = extract_features([source], sized)
        if fs.failures:
            raise DecodeError(name, fs.failures[0].reason)
        if isinstance(source, io.BytesIO):
            source.seek(0)
        else:
            digest = _file_digest(source)
        qfeat = {m.name: fs.features[m.name] for m in sized}
        codes8 = self._by_name["phash8"].codes(qfeat["phash8"])[0]  # type: ignore[attr-defined]
        t1 = time.perf_counter()
        with self._lock:
            ids, dist = self._index.search(np.ascontiguousarray(codes8), max(k, CANDIDATES))
            t2 = time.perf_counter()
            cand_i, cand_d = nearest_unique(ids, dist, max(k, CANDIDATES))
            priority: set[int] = set()
            if verify and "words" in qfeat:
                priority |= set(self._word_candidates(qfeat["words"][0]))
            if verify and "embed" in qfeat:
                priority |= set(self._embed_candidates(qfeat["embed"][0]))
            if priority:
                extra = sorted(priority - set(cand_i.tolist()))
                if extra:
                    codes = self._codes(np.array(extra, dtype=np.int64))
                    d8 = np.bitwise_count(codes8[:, None, :] ^ codes[None, :, :]).sum(axis=2)
                    cand_i = np.concatenate([cand_i, np.array(extra, dtype=np.int64)])
                    cand_d = np.concatenate([cand_d, d8.min(axis=0)])
        # Reading, scoring and keypoint verification run outside the lock: they only read
        # the catalog (through this thread's own connection), and OpenCV releases the GIL,
        # so concurrent searches use every core.
        records = self._records(cand_i.tolist())
        hits, rows = self._score(source, cand_i, cand_d, qfeat, records, verify, priority)
        t3 = time.perf_counter()
        # the same codes: every stored hash, colour and mask equal (a float descriptor's
        # distance is never exactly 0, so it does not count)
        cheap = {m.name for m in self._methods if m.name not in ("words", "embed")}
        same_codes = [
            verify
            and cheap <= set(rows.get(h.id, {}))
            and all(s.distance == 0 for s in rows[h.id].values())
            for h in hits
        ]
        same_bytes = [digest is not None and records[h.id].digest == digest for h in hits]
        if verify:
            for h, same in zip(hits, same_bytes, strict=True):
                if same:
                    h.relation, h.similarity = PairRelation("identical bytes"), 1.0
                    h.verdict = "identical"
        verdicts = [h.verdict for h in hits]
        sims = np.array([h.similarity for h in hits], dtype=float)
        order = rank_hits(
            np.array([h.id for h in hits], dtype=np.int64),
            verdicts,
            sims,
            np.array([h.distance for h in hits], dtype=float),
            np.array(same_bytes, dtype=bool),
            np.array(same_codes, dtype=bool),
        )
        timings = {"features": t1 - t0, "index": t2 - t1, "verify": t3 - t2}
        results = [hits[i] for i in order[:k]]
        frame_hits = self._frame_hits(source, k)
        if frame_hits:
            tiers = hit_tiers(verdicts, np.array(same_bytes, bool), np.array(same_codes, bool))
            merged = merge_ranked(
                tiers[order[:k]],
                sims[order[:k]],
                hit_tiers(
                    [v.verdict for v in frame_hits],
                    np.zeros(len(frame_hits), bool),
                    np.zeros(len(frame_hits), bool),
                ),
                np.array([v.similarity for v in frame_hits]),
            )
            results = [(frame_hits if video else results)[i] for video, i in merged][:k]
            timings["videos"] = time.perf_counter() - t3
        timings["total"] = time.perf_counter() - t0
        return SearchResult(query=name, results=results, timings=timings)

    def _frame_hits(self, source: Any, k: int) -> list[SearchHit]:
        """Video hits for a still image: the frame of each stored video nearest to it
        within :data:`~lookalike.video.align.FRAME_DISTANCE` bits, nearest first.

        The sampled frames propose (within :data:`~lookalike.video.collection.LOCATE_DISTANCE`);
        the nearest :data:`~lookalike.video.collection.LOCATE_VIDEOS` proposals not already
        exact are decoded frame by frame between the samples around them
        (:func:`~lookalike.video.collection.locate_frame`, within ``LOCATE_BUDGET_S`` in
        all), which gives the still's own frame and time where it lies between two samples
        of moving footage.
        """
        store = self._videos()
        if store is None:
            return []
        from lookalike.video.align import FRAME_DISTANCE
        from lookalike.video.collection import (
            LOCATE_BUDGET_S,
            LOCATE_DISTANCE,
            LOCATE_VIDEOS,
            frame_code,
            locate_frame,
        )

        codes = []
        for mirror in (False, True):  # the still, and the still mirrored (a flipped copy)
            if isinstance(source, io.BytesIO):
                source.seek(0)
            try:
                code, blank = frame_code(source, mirror=mirror)
            except DecodeError:
                return []
            if blank:  # a flat image matches no frame (blank frames never match)
                return []
            codes.append(code)
        proposals = sorted(
            (
                (f.distance, mirror, f)
                for mirror, code in enumerate(codes)
                for f in store.nearest_frames(code, LOCATE_DISTANCE)
            ),
            key=lambda x: (x[0], x[1], x[2].time, x[2].video.id),
        )
        best: dict[int, SearchHit] = {}
        deadline = time.monotonic() + LOCATE_BUDGET_S
        for n, (d, mirror, f) in enumerate(proposals):
            t = f.time
            left = deadline - time.monotonic()
            if d > _EXACT_FRAME and n < LOCATE_VIDEOS and left > 0:
                found = locate_frame(
                    f.video.path, codes[mirror], f.before, f.after, time_limit=left
                )
                if found is not None and found[1] < d:
                    t, d = found
            v = f.video
            if d > FRAME_DISTANCE or (v.id in best and best[v.id].distance <= d):
                continue
            best[v.id] = SearchHit(
                v.id, v.path, 1.0 - d / 64, d, "phash", v.width, v.height,
                "similar", video=True, time=t, mirrored=bool(mirror),
            )  # fmt: skip
        hits = sorted(best.values(), key=lambda h: (h.distance, h.time or 0.0, h.id))
        return hits[:k]

    def _search_video(
        self, query: str | bytes | os.PathLike[str], name: str, k: int, t0: float
    ) -> SearchResult:
        """The stored videos that match a video query (frame shares and time segments),
        most similar first; ``time`` is where the longest matched segment starts in each."""
        import tempfile

        from lookalike.video import fingerprint_video
        from lookalike.video.align import FRAME_DISTANCE, match_mirrored

        if isinstance(query, bytes | bytearray):
            with tempfile.TemporaryDirectory(prefix="lookalike-query-") as tmp:
                path = os.path.join(tmp, "query")
                with open(path, "wb") as fh:
                    fh.write(query)
                fp = fingerprint_video(path, mirror=True)
        else:
            fp = fingerprint_video(os.fspath(query), mirror=True)
        t1 = time.perf_counter()
        store = self._videos()
        hits: list[SearchHit] = []
        if store is not None and len(fp.valid) and fp.mirror_codes is not None:
            both = np.concatenate([fp.codes[fp.valid], fp.mirror_codes[fp.valid]])
            cands = store.candidates(both, FRAME_DISTANCE)
            rows = store.rows(cands)
            for vid, other in sorted(store.fingerprints(cands).items()):
                m = match_mirrored(fp, other)  # the query mirrored where plain fails
                if not m.match or vid not in rows:
                    continue
                longest = max(m.segments, key=lambda s: s.a_end - s.a_start)
                qcodes = (fp.mirror_codes if m.mirrored else fp.codes)[fp.valid]
                d = np.bitwise_count(qcodes[:, None, :] ^ other.codes[other.valid][None]).sum(2)
                r = rows[vid]
                hits.append(
                    SearchHit(
                        vid, r.path, m.similarity, int(d.min()), "phash", r.width, r.height,
                        "similar", video=True, time=longest.b_start,
                        segments=[sg.to_dict() for sg in m.segments], share=m.share_a,
                        mirrored=m.mirrored,
                    )
                )  # fmt: skip
        hits.sort(key=lambda h: (-h.similarity, h.distance, h.id))
        t2 = time.perf_counter()
        return SearchResult(
            query=name,
            results=hits[:k],
            timings={"features": t1 - t0, "videos": t2 - t1, "total": t2 - t0},
        )

    def _score(
        self,
        source: Any,
        cand_i: np.ndarray,
        cand_d: np.ndarray,
        qfeat: dict[str, Any],
        records: dict[int, FileRow],
        verify: bool,
        priority: set[int] | None = None,
    ) -> tuple[list[SearchHit], dict[int, dict[str, Score]]]:
        """The candidates as hits with their verdicts, and each one's scores by method."""
        bits = self._by_name["phash8"].bits  # type: ignore[attr-defined]
        hits: list[SearchHit] = []
        for cid, d in zip(cand_i.tolist(), cand_d.tolist(), strict=True):
            r = records.get(cid)
            if r is not None:
                hits.append(
                    SearchHit(
                        cid, r.path, 1.0 - d / bits, int(d), "phash8", r.width or 0, r.height or 0
                    )
                )
        rows: dict[int, dict[str, Score]] = {}
        if not verify or not hits:
            for h in hits:
                h.verdict = self._by_name["phash8"].verdict(h.similarity)
            return hits, rows
        stored = self._stored([h.id for h in hits])
        for m in self._methods:
            if m.name == "words":  # finds candidates, never decides
                continue
            have = [h for h in hits if m.name in stored.get(h.id, {})]
            if not have:
                continue
            cf = np.stack([stored[h.id][m.name] for h in have])
            qf = np.repeat(np.asarray(qfeat[m.name]), len(have), axis=0)
            for h, s in zip(have, score_rows(m, qf, cf), strict=True):
                rows.setdefault(h.id, {})[m.name] = s
        for h in hits:
            self._decide(h, rows.get(h.id))
        # as in dupes: a pair the learned layer calls far apart is not worth ORB's time
        unsure = [
            h
            for h in hits
            if h.verdict not in _ALIKE
            and (
                "embed" not in rows.get(h.id, {})
                or rows[h.id]["embed"].similarity >= EMBED_DIFFERENT
            )
        ]
        first = priority or set()
        pending = [
            unsure[i].id
            for i in verify_order(
                np.array([h.id for h in unsure], dtype=np.int64),
                np.array([h.id in first for h in unsure], dtype=bool),
                np.array([self._cue(rows.get(h.id)) for h in unsure], dtype=float),
                np.array([h.distance for h in unsure], dtype=float),
                VERIFY_TOP,
            )
        ]
        if pending:
            local = self._verify_local(source, pending, records)
            for h in hits:
                if h.id in local:
                    rows.setdefault(h.id, {})[self._orb.name] = local[h.id]
                    self._decide(h, rows[h.id])
        self._calibrate(hits, rows, qfeat, stored)
        return hits, rows

    @staticmethod
    def _calibrate(
        hits: list[SearchHit],
        rows: dict[int, dict[str, Score]],
        qfeat: dict[str, Any],
        stored: dict[int, dict[str, Any]],
    ) -> None:
        """Each hit's relation to the query and its similarity on the shared scale
        (:mod:`lookalike.match.relation`): the same numbers ``dupes`` and ``docs`` give."""
        q_size = tuple(float(x) for x in np.asarray(qfeat["aspect"]).reshape(-1)[:2])
        q_colour = qfeat.get("color")
        for h in hits:
            # a hit whose colours are not stored is taken as grey as the query
            colour = stored.get(h.id, {}).get("color", q_colour)
            sizes = (q_size, (float(h.width), float(h.height))) if h.width and h.height else None
            h.relation, h.similarity = relate(
                rows.get(h.id) or {},
                h.verdict,
                sizes=sizes,  # type: ignore[arg-type]
                colours=(q_colour, colour),
                fallback=h.similarity,
            )

    @staticmethod
    def _cue(scores: dict[str, Score] | None) -> float:
        """How promising an undecided candidate is for ORB: its colour similarity."""
        color = (scores or {}).get("color")
        return color.similarity if color is not None else 0.0

    @staticmethod
    def _decide(hit: SearchHit, scores: dict[str, Score] | None) -> None:
        if not scores:
            return
        verdict, by = decide(scores)
        hit.verdict = verdict
        if verdict in _ALIKE:  # a different one keeps its pHash similarity and method
            hit.method, hit.similarity = by, scores[by].similarity

    def image(self, id_or_path: int | str | os.PathLike[str]) -> str:
        """The catalog path of an indexed image given its id or path.

        Raises CollectionError for anything the collection does not hold, so a caller
        that serves only what this returns serves only indexed images (no traversal).
        """
        cat = self._catalog()
        found: dict[int, str] = {}
        if isinstance(id_or_path, int | np.integer):
            if 0 <= int(id_or_path) < 2**63:
                found = cat.paths_of([int(id_or_path)])
        else:
            text = os.fspath(id_or_path)
            if "\0" in text:
                raise CollectionError(repr(text), "not in this collection")
            found = {i: p for p, i in cat.ids_of([os.path.abspath(text)]).items()}
            if not found and text.isascii() and text.isdigit() and int(text) < 2**63:
                found = cat.paths_of([int(text)])
        good, _ = cat.feature_ids(self._key8, list(found))
        if not len(good):
            raise CollectionError(str(id_or_path), "not in this collection")
        return found[int(good[0])]

    def video(self, video_id: int) -> str:
        """The path of a stored video given its id (video hits' ``id``); CollectionError
        for anything the collection does not hold (so only stored videos are served)."""
        store = self._videos()
        rows = store.rows([int(video_id)]) if store is not None and 0 <= video_id < 2**63 else {}
        if not rows:
            raise CollectionError(str(video_id), "no such video in this collection")
        return rows[int(video_id)].path

    def read(self, id_or_path: int | str | os.PathLike[str]) -> bytes:
        """The bytes of an indexed image (zip members included), after :meth:`image`."""
        path = self.image(id_or_path)
        cat = self._catalog()
        rows = cat.files(list(cat.ids_of([path]).values()))
        if not rows:  # removed meanwhile
            raise CollectionError(path, "not in this collection")
        (row,) = rows.values()
        return row.entry().read()

    def stats(self) -> dict[str, Any]:
        """Images indexed, errors, backend, index size and location, last update."""
        with self._lock:
            images, failed = self._catalog().feature_counts(self._key8)
            return {
                "directory": str(self.directory),
                "images": images,
                "errors": failed + len(self._config.get("errors", [])),
                **self._video_stats(),
                "backend": self._config["backend"],
                "catalog": self._catalog().where,
                "index": {**self._index.describe(), "size": len(self._index)},
                **(
                    {}
                    if self._vectors is None
                    else {"vectors": {**self._vectors.describe(), "size": len(self._vectors)}}
                ),
                "methods": list(self._config["methods"]),
                "model": self._config.get("model"),
                "created": self._config.get("created"),
                "last_update": self._config.get("last_update"),
            }

    def _video_stats(self) -> dict[str, int]:
        """``{"videos": n}`` when the collection holds a videos file, else nothing."""
        store = self._videos()
        return {} if store is None else {"videos": store.counts()[0]}

    def close(self) -> None:
        """Close the index, the video store and the catalog connections."""
        with self._lock:
            if self._video_store is not None:
                self._video_store.close()
                self._video_store = None
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            for index in (getattr(self, "_index", None), getattr(self, "_vectors", None)):
                if index is not None:
                    index.close()
            for cat in self._catalogs:
                # sqlite3 refuses to close another thread's connection (ProgrammingError):
                # that one is closed when its thread's objects are collected.
                with contextlib.suppress(Exception):
                    cat.close()
            self._catalogs.clear()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _as_vectors(codec: str, blobs: np.ndarray) -> np.ndarray:
    """Stored descriptor rows (one codec, one length) as ``(n, dim)`` float32."""
    if len(blobs) == 0:
        return np.empty((0, 0), np.float32)
    dtype = decode_feature(codec, blobs[0].tobytes()).dtype
    vectors = np.ascontiguousarray(blobs).view(dtype).reshape(len(blobs), -1)
    return vectors.astype(np.float32, copy=False)


def _sync_rows(
    index: CodeIndex | VectorIndex,
    catalog: Catalog,
    key: str,
    values: Callable[[np.ndarray], np.ndarray],
    *,
    force: bool,
) -> None:
    """Bring ``index`` up to date with the catalog's features under ``key`` (``values``
    reads them, aligned to ids): incremental from the watermark of a trusted state, a
    rebuild otherwise; the state is committed after the data."""
    ids, ns = catalog.feature_ids(key)
    fingerprint = [len(ids), int(ids.sum()), int(ns.max()) if len(ns) else 0]
    state = index.state()
    trusted = state.get("method") == key
    if trusted and state.get("fingerprint") == fingerprint and not force:
        return
    watermark = int(state.get("watermark", -1)) if trusted and not force else -1
    if watermark < 0:
        index.clear()
    have = index.ids()
    gone = np.setdiff1d(have, ids)
    fresh = ids[(ns >= watermark) | ~np.isin(ids, have)]
    index.remove(np.union1d(gone, np.intersect1d(fresh, have)))
    index.add(fresh, values(fresh))
    index.commit(
        {
            "method": key,
            "fingerprint": fingerprint,
            "watermark": int(ns.max()) if len(ns) else 0,
            "synced": _now(),
        }
    )


def _is_video_query(query: str | bytes | os.PathLike[str]) -> bool:
    """True when the query's content is a video container."""
    if isinstance(query, bytes | bytearray):
        return sniff_video(bytes(query[:VIDEO_HEAD_BYTES])) is not None
    from lookalike.formats import is_video

    return is_video(query)


def _upload_extension(name: str, data: bytes) -> str:
    """The extension an upload is stored under: its sniffed format's (see UPLOAD_EXTENSIONS)."""
    kind = sniff(data[:HEAD_BYTES])
    if kind is None:  # no magic number (TGA, PCX): the decoder names the format
        kind = probe(io.BytesIO(data)).format
    ext = UPLOAD_EXTENSIONS.get(kind or "")
    if ext is None:
        raise DecodeError(name, f"a collection cannot keep {kind or 'this'} images")
    return ext


def _file_digest(path: str) -> bytes | None:
    """The catalog's digest of a file's bytes; None when unreadable."""
    try:
        return file_digest(path)
    except OSError:
        return None
