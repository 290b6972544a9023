"""Finished features as Parquet shards beside the catalog: no finished work is lost.

Why: on a cluster the driver (the one process that writes the SQLite catalog) and the
workers fail apart. Each worker task writes the records it computed to one shard,
``CATALOG.shards/part-<digest>.parquet``, atomically (a temporary file renamed into
place), before it returns them; the driver commits them to the catalog and then deletes
the shard. When the driver dies, the shards of every task that finished are still there,
and the next run commits them first (:func:`read_shard`) and computes only the rest. A
task that runs again (Ray retries a task whose node died) rewrites the same shard name.

One row per file and method key; the columns hold the :class:`~lookalike.store.catalog.Record`
fields: the file's facts (``path``, ``archive``, ``member`` as UTF-8 bytes with
surrogateescape, any name round-trips; ``size``, ``mtime_ns``, ``ctime_ns``, ``kind``,
``digest``, ``width``, ``height``) and the feature as the catalog stores it (``method``,
``codec``, ``data``, ``error``, see :func:`~lookalike.store.catalog.encode_feature`), so
pyarrow, DuckDB or Spark can read them too. Needs pyarrow (the ``ray`` extra).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lookalike.errors import Failure, require
from lookalike.sources.folders import Entry
from lookalike.store.atomic import atomic_write
from lookalike.store.catalog import Record, decode_feature, encode_feature, key_path, path_key

__all__ = [
    "SHARD_SUFFIX",
    "STALE_SECONDS",
    "read_shard",
    "remove_stale",
    "shard_files",
    "shard_folder",
    "shard_name",
    "write_shard",
]

SHARD_SUFFIX = ".parquet"
#: A half-written shard (its temporary file) this old belongs to a writer that died:
#: a task writes its shard in well under a second.
STALE_SECONDS = 3600.0


def shard_folder(catalog_path: str | os.PathLike[str]) -> Path:
    """The shard folder of a catalog file: ``catalog.sqlite`` -> ``catalog.shards/`` beside
    it (:attr:`lookalike.store.catalog.Catalog.shards_path`)."""
    p = Path(catalog_path)
    return p.with_name(p.stem + ".shards")


def shard_name(entries: Sequence[Entry], keys: Sequence[str]) -> str:
    """The shard file name of one task: a digest of its files' facts and method keys, so a
    retried task writes the same shard again."""
    h = hashlib.blake2b(digest_size=12)
    for k in keys:
        h.update(k.encode() + b"\0")
    for e in entries:
        h.update(path_key(e.path) + f"\0{e.size}\0{e.mtime_ns}\0{e.ctime_ns}\0".encode())
    return f"part-{h.hexdigest()}{SHARD_SUFFIX}"


def _schema(pa: Any) -> Any:
    return pa.schema(
        [
            ("path", pa.binary()),
            ("archive", pa.binary()),
            ("member", pa.binary()),
            ("kind", pa.string()),
            ("size", pa.int64()),
            ("mtime_ns", pa.int64()),
            ("ctime_ns", pa.int64()),
            ("width", pa.int64()),
            ("height", pa.int64()),
            ("digest", pa.binary()),
            ("method", pa.string()),
            ("codec", pa.string()),
            ("data", pa.binary()),
            ("error", pa.string()),
        ]
    )


def write_shard(folder: str | os.PathLike[str], name: str, records: Sequence[Record]) -> Path:
    """Write ``records`` to ``folder/name`` atomically; the shard's path."""
    pa = require("pyarrow", "ray")
    pq = require("pyarrow.parquet", "ray")
    cols: dict[str, list[Any]] = {f.name: [] for f in _schema(pa)}
    for rec in records:
        e = rec.entry
        for key, value in rec.features.items():
            codec, data, error = encode_feature(value)
            cols["path"].append(path_key(e.path))
            cols["archive"].append(None if e.archive is None else path_key(e.archive))
            cols["member"].append(None if e.member is None else path_key(e.member))
            cols["kind"].append(e.kind)
            cols["size"].append(e.size)
            cols["mtime_ns"].append(e.mtime_ns)
            cols["ctime_ns"].append(e.ctime_ns)
            cols["width"].append(rec.width)
            cols["height"].append(rec.height)
            cols["digest"].append(rec.digest)
            cols["method"].append(key)
            cols["codec"].append(codec)
            cols["data"].append(data)
            cols["error"].append(error)
    table = pa.table(cols, schema=_schema(pa))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with atomic_write(path, "wb") as fh:
        pq.write_table(table, fh)
    return path


def shard_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The finished shards in ``folder`` (none when it does not exist), by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.name.startswith("part-") and p.name.endswith(SHARD_SUFFIX)
    )


def remove_stale(folder: str | os.PathLike[str], age: float = STALE_SECONDS) -> int:
    """Delete the temporary files of shards that writers killed mid-write left in
    ``folder`` over ``age`` seconds ago; the number deleted."""
    import time

    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    for p in folder.iterdir():
        if p.name.startswith("part-") and p.name.endswith(".tmp"):
            try:
                if time.time() - p.stat().st_mtime > age:
                    p.unlink()
                    n += 1
            except OSError:
                continue
    return n


def read_shard(path: str | os.PathLike[str]) -> list[Record]:
    """The records of one shard (a feature that no longer decodes is left out: the file
    is then missing a key, and is computed again)."""
    pq = require("pyarrow.parquet", "ray")
    rows = pq.read_table(path).to_pylist()
    out: dict[bytes, Record] = {}
    for r in rows:
        rec = out.get(r["path"])
        if rec is None:
            entry = Entry(
                key_path(r["path"]),
                r["size"],
                r["mtime_ns"],
                kind=r["kind"] or "",
                archive=None if r["archive"] is None else key_path(r["archive"]),
                member=None if r["member"] is None else key_path(r["member"]),
                ctime_ns=r["ctime_ns"] or 0,
            )
            rec = out[r["path"]] = Record(entry, {}, r["digest"], r["width"], r["height"])
        if r["error"] is not None:
            rec.features[r["method"]] = Failure(rec.entry.path, r["error"])
            continue
        try:
            rec.features[r["method"]] = decode_feature(r["codec"], r["data"])
        except Exception:  # a blob this version cannot read: computed again
            continue
    return list(out.values())
