"""The feature cache: one SQLite file remembering, per image file, what was computed from it.

Why: decoding dominates the cost of fingerprinting a collection, and collections change
little between runs. The catalog keys every file by ``(path, size, mtime_ns, ctime_ns)``; a
second run over an unchanged folder decodes nothing, a changed file (other size or time) is
recomputed, a removed one can be purged (:meth:`Catalog.purge`).

Per file it holds the size, modification time, width and height as stored in the header
(before EXIF rotation; None when unknown), a BLAKE2b-128 digest of the bytes (exact byte
duplicates are found from it before any pixel is compared), and per *method key* (the
method's name, options and decoding, see :func:`method_key`) either the feature -- a numpy row
(dtype and shape kept) or a ``pair`` method's object (``to_bytes()``, restored with the
class's ``from_bytes()``) -- or the reason the file failed, so a corrupt file is not
decoded again on every run until it changes. Read errors (permission denied, a vanished
file) are not cached: they are about the moment, not the file.

Where: ``$LOOKALIKE_CACHE/catalog.sqlite`` when that variable is set (it names the cache
*folder*), else the per-user cache folder (``$XDG_CACHE_HOME/lookalike`` or
``~/.cache/lookalike``; ``~/Library/Caches/lookalike`` on macOS, ``%LOCALAPPDATA%`` on
Windows), else any path given to :class:`Catalog`.

Safety: WAL journal, one transaction per chunk of files (:func:`cached_features`), so an
interrupted run (Ctrl-C, ``kill -9``) loses at most the chunk in flight and the next run
resumes. Only the parent process writes; workers only decode. Several processes may share
one catalog (SQLite locking, a 30 s busy timeout). A ``meta`` table records the schema
version: an older catalog is rebuilt (it is only a cache), a newer or foreign one is
refused with :class:`~lookalike.errors.CollectionError`, as is an unreadable file unless
``rebuild=True``.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.errors import WORKER_DIED, CollectionError, Failure, LookalikeError, UsageError
from lookalike.sources.folders import MEMBER_SEP, Entry

__all__ = [
    "CATALOG_APP",
    "SCHEMA_VERSION",
    "Catalog",
    "FileRow",
    "MarkRow",
    "Record",
    "decode_feature",
    "default_path",
    "encode_feature",
    "is_database_uri",
    "key_path",
    "open_catalog",
    "path_key",
]

SCHEMA_VERSION = 2
#: The ``app`` a catalog's meta table names (a foreign one is refused).
CATALOG_APP = "lookalike-catalog"
_BATCH = 500  # SQL parameters per IN (...) query

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,      -- UTF-8 with surrogateescape: any file name round-trips
    archive BLOB,                   -- the zip's path for an archive member, else NULL
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER,               -- inode change time; NULL: unknown (never trusted)
    width INTEGER,
    height INTEGER,
    digest BLOB,                    -- BLAKE2b-128 of the bytes
    updated_ns INTEGER NOT NULL
);
CREATE INDEX files_digest ON files (digest);
CREATE INDEX files_archive ON files (archive);
CREATE TABLE features (
    file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    method TEXT NOT NULL,           -- method key, e.g. 'phash:exact=False,...@L/64'
    codec TEXT,                     -- 'nd:<dtype>:<shape>' or 'obj:<module>:<class>'
    data BLOB,
    error TEXT,                     -- the failure reason when the file failed
    PRIMARY KEY (file_id, method)
) WITHOUT ROWID;
"""

#: People's decisions ("not duplicates", "keep this one"), keyed by the files' digests so
#: they survive moves and renames; kept when the cache tables are rebuilt.
_MARKS = """
CREATE TABLE IF NOT EXISTS marks (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,             -- 'not-duplicates' or 'keep'
    digests TEXT NOT NULL,          -- sorted hex BLAKE2b-128 digests, space separated
    paths TEXT NOT NULL,            -- JSON list of the paths when marked (for people)
    created TEXT NOT NULL,
    UNIQUE (kind, digests)
)
"""


@dataclass(frozen=True)
class MarkRow:
    """One stored mark: its kind, the digests it binds, the paths it was made on."""

    id: int
    kind: str
    digests: tuple[str, ...]
    paths: tuple[str, ...]
    created: str


def default_path() -> Path:
    """Where the catalog lives unless told otherwise (see the module docstring)."""
    env = os.environ.get("LOOKALIKE_CACHE")
    if env:
        return Path(env).expanduser() / "catalog.sqlite"
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    elif sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path.home() / ".cache"
    return base / "lookalike" / "catalog.sqlite"


def content_digest(data: bytes) -> bytes:
    """The digest the catalog keeps of a file's bytes: BLAKE2b-128."""
    return hashlib.blake2b(data, digest_size=16).digest()


def file_digest(path: str | os.PathLike[str]) -> bytes:
    """:func:`content_digest` of a file, read in 1 MiB blocks (memory stays flat for any
    size). Raises OSError when the file cannot be read."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.digest()


def path_key(path: str) -> bytes:
    """A path as stored: UTF-8 with surrogateescape, so any file name round-trips."""
    return path.encode("utf-8", "surrogateescape")


def key_path(raw: bytes) -> str:
    """Inverse of :func:`path_key`."""
    return bytes(raw).decode("utf-8", "surrogateescape")


def encode_feature(value: Any) -> tuple[str | None, bytes | None, str | None]:
    """A feature or Failure as (codec, data, error) columns."""
    if isinstance(value, Failure):
        return None, None, value.reason
    if hasattr(value, "to_bytes") and not isinstance(value, np.ndarray | np.generic):
        cls = type(value)
        return f"obj:{cls.__module__}:{cls.__qualname__}", bytes(value.to_bytes()), None
    arr = np.ascontiguousarray(value)
    if arr.dtype.hasobject:
        raise TypeError(f"cannot cache a feature of dtype object ({type(value).__name__})")
    shape = ",".join(str(n) for n in arr.shape)
    return f"nd:{arr.dtype.str}:{shape}", arr.tobytes(), None


def decode_feature(codec: str, data: bytes) -> Any:
    """Inverse of :func:`encode_feature`; raises ValueError / LookalikeError on a blob it
    distrusts."""
    kind, _, rest = codec.partition(":")
    if kind == "nd":
        dtype, _, shape = rest.rpartition(":")
        dims = tuple(int(n) for n in shape.split(",")) if shape else ()
        return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(dims)
    if kind == "obj":
        module, _, qualname = rest.partition(":")
        if module != "lookalike" and not module.startswith("lookalike."):
            raise UsageError(f"refusing to load a feature class from {module!r}")
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        return cls.from_bytes(bytes(data))
    raise UsageError(f"unknown codec {codec!r}")


@dataclass
class Record:
    """What :meth:`Catalog.store` writes for one file: its facts and its features by key."""

    entry: Entry
    features: dict[str, Any]  # method key -> feature row / object / Failure
    digest: bytes | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class FileRow:
    """One catalogued file as :meth:`Catalog.files` reads it back."""

    id: int
    path: str
    archive: str | None  # the zip's path for an archive member
    size: int
    mtime_ns: int
    width: int | None
    height: int | None
    digest: bytes | None  # BLAKE2b-128 of the bytes

    def entry(self) -> Entry:
        """The :class:`~lookalike.sources.folders.Entry` that reads this file's bytes."""
        member = self.path[len(self.archive) + len(MEMBER_SEP) :] if self.archive else None
        return Entry(self.path, self.size, self.mtime_ns, archive=self.archive, member=member)


class Catalog:
    """A SQLite feature cache (see the module docstring). Use as a context manager.

    ``path``: the catalog file (default :func:`default_path`). ``rebuild``: discard a file
    that cannot be used as a catalog (corrupt, not SQLite) instead of raising
    CollectionError; an SQLite database holding other tables is never discarded.
    :class:`lookalike.store.catalog_postgres.PostgresCatalog` is the same catalog in a
    PostgreSQL database (:func:`open_catalog` picks by the location).
    """

    #: What the database driver raises.
    _ERRORS: tuple[type[BaseException], ...] = (sqlite3.DatabaseError,)
    #: Store one feature row, replacing the row of the same file and method key.
    _UPSERT_FEATURE = (
        "INSERT OR REPLACE INTO features (file_id, method, codec, data, error) "
        "VALUES (?, ?, ?, ?, ?)"
    )
    #: Store a mark unless the same one is there (``rowcount`` 0 then).
    _INSERT_MARK = "INSERT OR IGNORE INTO marks (kind, digests, paths, created) VALUES (?, ?, ?, ?)"
    _INSERT_FILE = (
        "INSERT INTO files (path, archive, size, mtime_ns, ctime_ns, width, height, digest, "
        "updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _db: Any

    def __init__(self, path: str | os.PathLike[str] | None = None, *, rebuild: bool = False):
        self.path = Path(path) if path is not None else default_path()
        self.where = str(self.path)
        #: The SQLite file that keeps keypoint verdicts (:mod:`lookalike.store.verdicts`).
        self.verdicts_path = self.path
        from lookalike.store.shards import shard_folder  # (shards imports this module)

        #: Where cluster workers write their shards before this catalog commits them
        #: (:mod:`lookalike.store.shards`): ``catalog.shards/`` beside the file.
        self.shards_path = shard_folder(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CollectionError(
                str(self.path), f"cannot create the cache folder: {exc}"
            ) from None
        try:
            self._db = self._open()
        except _Foreign:
            raise
        except CollectionError:
            if not rebuild:
                raise
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            self._db = self._open()

    def _fail(self, reason: str) -> CollectionError:
        return CollectionError(self.where, reason)

    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=30.0)
        except sqlite3.Error as exc:
            raise self._fail(f"cannot open the catalog: {exc}") from None
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables:
                self._check(db, tables)  # before any write: a foreign file stays untouched
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            if not tables:
                self._create(db)
            with db:  # added after schema 2; old catalogs gain it on open
                db.execute(_MARKS)
            return db
        except CollectionError:
            db.close()
            raise
        except (sqlite3.DatabaseError, ValueError) as exc:
            db.close()
            raise self._fail(
                f"unreadable catalog ({exc}); delete the file to start afresh, "
                "or open it with rebuild=True"
            ) from None

    def _check(self, db: sqlite3.Connection, tables: set[str]) -> None:
        """Refuse foreign and newer catalogs; empty an older one (it is only a cache)."""
        if "meta" not in tables or "files" not in tables:
            raise _Foreign(
                str(self.path),
                "not a lookalike catalog (an SQLite database with other tables); "
                "choose another catalog file",
            )
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("app") != CATALOG_APP:
            raise _Foreign(str(self.path), "not a lookalike catalog (foreign meta table)")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise self._fail(
                f"catalog schema {version} was written by a newer lookalike (this one reads "
                f"{SCHEMA_VERSION}); upgrade, or use another cache (LOOKALIKE_CACHE)"
            )
        if version == 1:  # v2 added ctime_ns and the collision-free member separator
            with db:
                columns = {r[1] for r in db.execute("PRAGMA table_info(files)")}
                if "ctime_ns" not in columns:
                    db.execute("ALTER TABLE files ADD COLUMN ctime_ns INTEGER")
                db.execute(
                    "UPDATE files SET path = "
                    "CAST(archive || ? || substr(path, length(archive) + 3) AS BLOB) "
                    "WHERE archive IS NOT NULL AND substr(path, length(archive) + 1, 2) = ?",
                    (path_key(MEMBER_SEP), b"!/"),
                )
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", ("2",))
        elif version < SCHEMA_VERSION:  # cheaper to recompute than to migrate
            with db:
                for table in ("features", "files", "meta"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
            tables.clear()

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        with db:
            db.executescript(_SCHEMA)
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("app", CATALOG_APP), ("schema_version", str(SCHEMA_VERSION))],
            )

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the main file)."""
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM files")[0][0])

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return list(self._db.execute(sql, params).fetchall())
        except self._ERRORS as exc:
            raise self._fail(f"catalog query failed: {exc}") from None

    def _insert_file(self, values: tuple[Any, ...]) -> int | None:
        """Add a file row; its id, or None when another writer added the path meanwhile."""
        return int(self._db.execute(self._INSERT_FILE, values).lastrowid)

    def _current(self, entries: Sequence[Entry]) -> dict[str, int]:
        """path -> file id, for the entries whose stored size, mtime and ctime still match.

        An entry with ``ctime_ns == 0`` (rebuilt from the catalog, not from a scan) is
        matched on size and mtime; a stored NULL ctime never matches a scanned entry.
        """
        out: dict[str, int] = {}
        for i in range(0, len(entries), _BATCH):
            part = {path_key(e.path): e for e in entries[i : i + _BATCH]}
            marks = ",".join("?" * len(part))
            rows = self._query(
                f"SELECT id, path, size, mtime_ns, ctime_ns FROM files WHERE path IN ({marks})",
                list(part),
            )
            for fid, raw, size, mtime, ctime in rows:
                e = part[bytes(raw)]
                if not _changed(e, size, mtime, ctime):
                    out[e.path] = fid
        return out

    def lookup(
        self, entries: Sequence[Entry], method_keys: Sequence[str]
    ) -> tuple[dict[str, dict[str, Any]], list[Entry]]:
        """Split entries into cached and missing.

        ``cached`` maps the path of each unchanged file holding every key to
        ``{method key: feature | Failure}``; ``missing`` lists, in order, the entries to
        compute (new, changed, a key lacking, a blob that no longer decodes, or a worker's
        death that an earlier version stored as the file's failure).
        """
        current = self._current(entries)
        found: dict[int, dict[str, Any]] = {}
        ids = list(current.values())
        kmarks = ",".join("?" * len(method_keys))
        for i in range(0, len(ids), _BATCH):
            part = ids[i : i + _BATCH]
            rows = self._query(
                f"SELECT file_id, method, codec, data, error FROM features "
                f"WHERE file_id IN ({','.join('?' * len(part))}) AND method IN ({kmarks})",
                [*part, *method_keys],
            )
            for fid, method, codec, data, error in rows:
                found.setdefault(fid, {})[method] = (codec, data, error)
        cached: dict[str, dict[str, Any]] = {}
        missing: list[Entry] = []
        for e in entries:
            stored = found.get(current.get(e.path, -1), {})
            if len(stored) < len(method_keys) or any(
                error == WORKER_DIED for _, _, error in stored.values()
            ):
                missing.append(e)
                continue
            try:
                cached[e.path] = {
                    k: Failure(e.path, error) if error is not None else decode_feature(codec, data)
                    for k, (codec, data, error) in stored.items()
                }
            except (ValueError, TypeError, AttributeError, ImportError, LookalikeError):
                missing.append(e)  # a blob this version cannot read: compute it again
        return cached, missing

    def store(self, records: Iterable[Record]) -> int:
        """Write the records in one transaction (committed on return); the number written.

        A file whose size or mtime changed loses its old features first. Rows are written
        in path order, so writers sharing a server lock them in one order and never
        deadlock (:mod:`lookalike.store.catalog_postgres`).
        """
        now = time.time_ns()
        n = 0
        try:
            with self._db:
                for rec in sorted(records, key=lambda r: path_key(r.entry.path)):
                    e = rec.entry
                    key = path_key(e.path)
                    row = self._db.execute(
                        "SELECT id, size, mtime_ns, ctime_ns FROM files WHERE path = ?", (key,)
                    ).fetchone()
                    fid = None
                    if row is None:
                        fid = self._insert_file(
                            (
                                key,
                                None if e.archive is None else path_key(e.archive),
                                e.size,
                                e.mtime_ns,
                                e.ctime_ns or None,
                                rec.width,
                                rec.height,
                                rec.digest,
                                now,
                            )
                        )
                        if fid is None:  # another writer added it meanwhile: update theirs
                            row = self._db.execute(
                                "SELECT id, size, mtime_ns, ctime_ns FROM files WHERE path = ?",
                                (key,),
                            ).fetchone()
                    if row is not None:
                        fid = row[0]
                        changed = _changed(e, row[1], row[2], row[3])
                        if changed:
                            self._db.execute("DELETE FROM features WHERE file_id = ?", (fid,))
                        self._db.execute(
                            "UPDATE files SET size = ?, mtime_ns = ?, updated_ns = ?, "
                            "ctime_ns = COALESCE(?, ctime_ns), "
                            "width = CASE WHEN ? THEN ? ELSE COALESCE(?, width) END, "
                            "height = CASE WHEN ? THEN ? ELSE COALESCE(?, height) END, "
                            "digest = CASE WHEN ? THEN ? ELSE COALESCE(?, digest) END "
                            "WHERE id = ?",
                            (
                                e.size,
                                e.mtime_ns,
                                now,
                                e.ctime_ns or None,
                                changed,
                                rec.width,
                                rec.width,
                                changed,
                                rec.height,
                                rec.height,
                                changed,
                                rec.digest,
                                rec.digest,
                                fid,
                            ),
                        )
                    self._db.executemany(
                        self._UPSERT_FEATURE,
                        [(fid, k, *encode_feature(v)) for k, v in rec.features.items()],
                    )
                    n += 1
        except self._ERRORS as exc:
            raise self._fail(f"cannot write to the catalog: {exc}") from None
        return n

    def digests(self, paths: Iterable[str]) -> dict[str, str]:
        """path -> hex BLAKE2b-128 of the bytes, for the paths the catalog knows."""
        keys = [path_key(p) for p in paths]
        out: dict[str, str] = {}
        for i in range(0, len(keys), _BATCH):
            part = keys[i : i + _BATCH]
            rows = self._query(
                f"SELECT path, digest FROM files WHERE digest IS NOT NULL "
                f"AND path IN ({','.join('?' * len(part))})",
                part,
            )
            out.update((key_path(p), bytes(d).hex()) for p, d in rows)
        return out

    def add_mark(self, kind: str, digests: Sequence[str], paths: Sequence[str]) -> bool:
        """Store a mark (see :mod:`lookalike.dupes.marks`); False if it was already there."""
        import json

        key = " ".join(sorted(set(digests)))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        try:
            with self._db:
                cur = self._db.execute(
                    self._INSERT_MARK,
                    (kind, key, json.dumps(list(paths), ensure_ascii=False), stamp),
                )
                return cur.rowcount > 0
        except self._ERRORS as exc:
            raise self._fail(f"cannot write to the catalog: {exc}") from None

    def marks(self) -> list[MarkRow]:
        """Every stored mark, oldest first."""
        import json

        rows = self._query("SELECT id, kind, digests, paths, created FROM marks ORDER BY id")
        return [
            MarkRow(int(i), k, tuple(d.split()), tuple(json.loads(p)), c) for i, k, d, p, c in rows
        ]

    def remove_mark(self, kind: str, digests: Sequence[str]) -> int:
        """Remove the mark of ``kind`` on exactly these digests; the number removed."""
        key = " ".join(sorted(set(digests)))
        try:
            with self._db:
                return self._db.execute(
                    "DELETE FROM marks WHERE kind = ? AND digests = ?", (kind, key)
                ).rowcount
        except self._ERRORS as exc:
            raise self._fail(f"cannot write to the catalog: {exc}") from None

    def forget(self, paths: Iterable[str]) -> int:
        """Remove these files (and their features); the number removed."""
        keys = [path_key(p) for p in paths]
        try:
            with self._db:
                n = 0
                for i in range(0, len(keys), _BATCH):
                    part = keys[i : i + _BATCH]
                    n += self._db.execute(
                        f"DELETE FROM files WHERE path IN ({','.join('?' * len(part))})", part
                    ).rowcount
                return n
        except self._ERRORS as exc:
            raise self._fail(f"cannot write to the catalog: {exc}") from None

    def purge(self, under: str | os.PathLike[str] | None = None) -> int:
        """Forget files that are gone or changed on disk (optionally only below ``under``).

        A plain file is stat-ed; an archive member counts as gone when its archive is gone
        or was modified. Returns the number of files forgotten.
        """
        sql = "SELECT path, archive, size, mtime_ns, ctime_ns FROM files"
        params: list[Any] = []
        if under is not None:
            root = os.path.abspath(os.fspath(under))
            prefix = path_key(root.rstrip(os.sep) + os.sep)
            sql += " WHERE path = ? OR substr(path, 1, ?) = ?"
            params = [path_key(root), len(prefix), prefix]
        stale: list[str] = []
        for raw, archive, size, mtime, ctime in self._query(sql, params):
            path = key_path(raw)
            try:
                if archive is None:
                    st = os.stat(path)
                    gone = (st.st_size, st.st_mtime_ns, st.st_ctime_ns) != (size, mtime, ctime)
                else:
                    st = os.stat(key_path(archive))
                    gone = (st.st_mtime_ns, st.st_ctime_ns) != (mtime, ctime)
            except OSError:
                gone = True
            if gone:
                stale.append(path)
        return self.forget(stale)

    # ------------------------------------------------------------------ read-only queries
    # What a collection asks of its catalog, batched; ids are file ids (``files.id``).

    def _in(self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> list[Any]:
        """Run ``sql`` (one ``{}`` for an IN list, then ``params``) over ``values`` in batches."""
        rows: list[Any] = []
        for s in range(0, len(values), _BATCH):
            part = list(values[s : s + _BATCH])
            rows += self._query(sql.format(",".join("?" * len(part))), [*part, *params])
        return rows

    def feature_ids(
        self, key: str, ids: Sequence[int] | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, updated_ns)`` of the files holding a good feature under ``key``, by id.

        ``ids``: only among these files. Both arrays are int64.
        """
        if ids is None:
            rows = self._query(
                "SELECT f.id, f.updated_ns FROM files f JOIN features x ON x.file_id = f.id "
                "WHERE x.method = ? AND x.error IS NULL ORDER BY f.id",
                (key,),
            )
        else:
            rows = self._in(
                "SELECT f.id, f.updated_ns FROM files f JOIN features x ON x.file_id = f.id "
                "WHERE f.id IN ({}) AND x.method = ? AND x.error IS NULL",
                [int(i) for i in ids],
                (key,),
            )
        arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
        arr = arr[np.argsort(arr[:, 0], kind="stable")]
        return arr[:, 0].copy(), arr[:, 1].copy()

    def feature_rows(
        self, key: str, ids: Sequence[int] | np.ndarray | None = None
    ) -> tuple[np.ndarray, str | None, np.ndarray]:
        """``(ids, codec, blobs)``: the good features under ``key`` as one byte matrix.

        ``ids`` (int64, ascending) are the files holding one (only among ``ids`` when
        given); ``blobs`` is ``(n, nbytes)`` uint8, row i the stored bytes of ``ids[i]``;
        ``codec`` their common codec (None when there are none). Raises CollectionError
        when the rows differ in codec or length (the key is not one fixed-size code).
        """
        sql = "SELECT file_id, codec, data FROM features WHERE method = ? AND error IS NULL"
        wanted = None if ids is None else np.unique(np.asarray(ids, dtype=np.int64))
        if wanted is None or len(wanted) > 20_000:  # most of the catalog: one scan wins
            rows = self._query(sql, (key,))
        else:
            rows = self._in(
                "SELECT file_id, codec, data FROM features WHERE file_id IN ({}) "
                "AND method = ? AND error IS NULL",
                wanted.tolist(),
                (key,),
            )
        if not rows:
            return np.empty(0, np.int64), None, np.empty((0, 0), np.uint8)
        codec = rows[0][1]
        size = len(rows[0][2])
        if any(r[1] != codec or len(r[2]) != size for r in rows):
            raise self._fail(f"mixed encodings of {key!r} in the catalog")
        fids = np.array([r[0] for r in rows], dtype=np.int64)
        blobs = np.frombuffer(b"".join(bytes(r[2]) for r in rows), np.uint8).reshape(len(rows), -1)
        order = np.argsort(fids, kind="stable")
        fids, blobs = fids[order], blobs[order]
        if wanted is not None:
            keep = np.isin(fids, wanted)
            fids, blobs = fids[keep], blobs[keep]
        return fids, codec, np.ascontiguousarray(blobs)

    def feature_counts(self, key: str) -> tuple[int, int]:
        """``(good, failed)``: how many files hold a feature, and a failure, under ``key``."""
        rows = self._query(
            "SELECT error IS NULL, COUNT(*) FROM features WHERE method = ? GROUP BY error IS NULL",
            (key,),
        )
        counts = {bool(ok): int(n) for ok, n in rows}
        return counts.get(True, 0), counts.get(False, 0)

    def feature_arrays(
        self, ids: Sequence[int], keys: Sequence[str]
    ) -> dict[int, dict[str, np.ndarray]]:
        """The good array features of these files: ``{id: {key: row}}``.

        Object features (``obj:`` codecs) and blobs that no longer decode are left out.
        """
        if not keys:
            return {}
        rows = self._in(
            "SELECT file_id, method, codec, data FROM features WHERE file_id IN ({}) "
            f"AND error IS NULL AND method IN ({','.join('?' * len(keys))})",
            [int(i) for i in ids],
            list(keys),
        )
        out: dict[int, dict[str, np.ndarray]] = {}
        for fid, key, codec, data in rows:
            if codec is None or data is None or not codec.startswith("nd:"):
                continue
            try:
                out.setdefault(fid, {})[key] = decode_feature(codec, data)
            except (ValueError, TypeError):
                continue
        return out

    def files(self, ids: Sequence[int]) -> dict[int, FileRow]:
        """What the catalog knows of these files: ``{id: FileRow}`` (unknown ids left out)."""
        rows = self._in(
            "SELECT id, path, archive, size, mtime_ns, width, height, digest FROM files "
            "WHERE id IN ({})",
            [int(i) for i in ids],
        )
        return {
            r[0]: FileRow(
                id=r[0],
                path=key_path(r[1]),
                archive=None if r[2] is None else key_path(r[2]),
                size=r[3],
                mtime_ns=r[4],
                width=r[5],
                height=r[6],
                digest=None if r[7] is None else bytes(r[7]),
            )
            for r in rows
        }

    def paths_of(self, ids: Sequence[int]) -> dict[int, str]:
        """``{id: path}`` of the files the catalog knows among ``ids``."""
        rows = self._in("SELECT id, path FROM files WHERE id IN ({})", [int(i) for i in ids])
        return {fid: key_path(raw) for fid, raw in rows}

    def ids_of(self, paths: Iterable[str]) -> dict[str, int]:
        """``{path: id}`` of the files the catalog knows among ``paths`` (exact paths)."""
        keys = [path_key(p) for p in paths]
        rows = self._in("SELECT path, id FROM files WHERE path IN ({})", keys)
        return {key_path(raw): fid for raw, fid in rows}

    def paths_under(self, roots: Iterable[str]) -> list[str]:
        """Catalogued paths equal to or below any root (absolute paths); for a root that is
        a zip archive, its members too."""
        out: list[str] = []
        for root in roots:
            key = path_key(root)
            folder = path_key(root.rstrip(os.sep) + os.sep)
            member = path_key(root + MEMBER_SEP)
            rows = self._query(
                "SELECT path FROM files WHERE path = ? OR substr(path, 1, ?) = ? "
                "OR substr(path, 1, ?) = ?",
                (key, len(folder), folder, len(member), member),
            )
            out += [key_path(r[0]) for r in rows]
        return out


def _changed(entry: Entry, size: int, mtime_ns: int, ctime_ns: int | None) -> bool:
    """Whether ``entry`` differs from the stored facts (see :meth:`Catalog._current`)."""
    if (entry.size, entry.mtime_ns) != (size, mtime_ns):
        return True
    return bool(entry.ctime_ns) and entry.ctime_ns != ctime_ns


class _Foreign(CollectionError):
    """Someone else's database: never discarded, even with rebuild=True."""


#: Locations that name a PostgreSQL database instead of a file.
DATABASE_SCHEMES = ("postgresql://", "postgres://")


def is_database_uri(where: str | os.PathLike[str] | None) -> bool:
    """Whether a catalog location is a PostgreSQL URI (else it is a file)."""
    return where is not None and os.fspath(where).startswith(DATABASE_SCHEMES)


def open_catalog(where: str | os.PathLike[str] | None = None, *, rebuild: bool = False) -> Catalog:
    """The catalog at ``where``: a PostgreSQL URI opens
    :class:`~lookalike.store.catalog_postgres.PostgresCatalog` (shared by every user and
    machine that reaches the server), anything else the SQLite file :class:`Catalog`."""
    if where is not None and is_database_uri(where):
        from lookalike.store.catalog_postgres import PostgresCatalog

        return PostgresCatalog(os.fspath(where))
    return Catalog(where, rebuild=rebuild)
