"""The verdict cache: what keypoint verification decided for a pair of images, kept.

Why: verifying a candidate pair with ORB and RANSAC costs ~10 ms, and a folder re-scanned
unchanged re-verifies the same pairs every time (a warm run of 60 photos still spent ~10 s
in ORB). A verdict depends only on the two images' bytes and on the engine that decided
it, so it is stored under the two BLAKE2b-128 digests (the catalog's, smaller first) and a
*scope*: the engine's version and the verifying method's key (its options and version).
A changed file has another digest; a new engine or method version, another scope.

The same holds for what the keeper rule measures per file (greyscale, a JPEG's block
grid in a PNG, filled corners, camera metadata: :mod:`lookalike.dupes.facts`): one
decode of each grouped image, kept by the file's digest in a second table, so a warm run
decodes nothing at all.

The tables live in the catalog's SQLite file, owned by this class alone (the catalog's
own tables are never touched here); they are created on first use, so older catalogs work.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lookalike.errors import CollectionError

__all__ = ["VerdictCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    a BLOB NOT NULL,            -- the smaller digest of the pair
    b BLOB NOT NULL,
    scope TEXT NOT NULL,        -- engine version and verifying method key
    distance REAL NOT NULL,
    similarity REAL NOT NULL,
    verdict TEXT NOT NULL,
    relation TEXT NOT NULL DEFAULT '',  -- what the verifier saw: copy, contains, ...
    geometry TEXT NOT NULL DEFAULT '',  -- angle, scale, shares kept, seen from a
    PRIMARY KEY (a, b, scope)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_facts (
    digest BLOB NOT NULL,
    scope TEXT NOT NULL,        -- what measured them, and its version
    facts TEXT NOT NULL,        -- JSON object
    PRIMARY KEY (digest, scope)
) WITHOUT ROWID;
"""
_BATCH = 300  # pairs per query (two parameters each)

Row = tuple[float, float, str, str, str]  # distance, similarity, verdict, relation, geometry


def _key(a: str, b: str) -> tuple[bytes, bytes]:
    x, y = bytes.fromhex(a), bytes.fromhex(b)
    return (x, y) if x <= y else (y, x)


class VerdictCache:
    """Verdicts by digest pair (see the module docstring). Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            with self._db:
                self._db.executescript(_SCHEMA)
                columns = {r[1] for r in self._db.execute("PRAGMA table_info(verdicts)")}
                for name in ("relation", "geometry"):  # a table from before they were kept
                    if name not in columns:
                        self._db.execute(
                            f"ALTER TABLE verdicts ADD COLUMN {name} TEXT NOT NULL DEFAULT ''"
                        )
        except sqlite3.DatabaseError as exc:
            raise CollectionError(str(self.path), f"cannot open the verdict cache: {exc}") from None

    def get(self, pairs: Sequence[tuple[str, str]], scope: str) -> dict[tuple[str, str], Row]:
        """The stored verdicts of these (hex digest, hex digest) pairs, by the pair as given."""
        # one stored row answers a pair asked either way round (byte copies of two
        # pictures ask for both orders in one run)
        wanted: dict[tuple[bytes, bytes], list[tuple[str, str]]] = {}
        for a, b in pairs:
            wanted.setdefault(_key(a, b), []).append((a, b))
        keys = list(wanted)
        out: dict[tuple[str, str], Row] = {}
        for s in range(0, len(keys), _BATCH):
            part = keys[s : s + _BATCH]
            cond = " OR ".join(["(a = ? AND b = ?)"] * len(part))
            params: list[object] = [v for k in part for v in k]
            try:
                rows = self._db.execute(
                    f"SELECT a, b, distance, similarity, verdict, relation, geometry FROM verdicts "
                    f"WHERE scope = ? AND ({cond})",
                    [scope, *params],
                ).fetchall()
            except sqlite3.DatabaseError as exc:
                raise CollectionError(str(self.path), f"verdict cache: {exc}") from None
            for a, b, d, s_, v, r, g in rows:
                for asked in wanted[(bytes(a), bytes(b))]:
                    out[asked] = (float(d), float(s_), str(v), str(r), str(g))
        return out

    def put(self, rows: Iterable[tuple[str, str, float, float, str, str, str]], scope: str) -> None:
        """Store verdicts ``(digest a, digest b, distance, similarity, verdict, relation,
        geometry)``; a pair is one row whichever way round it is given, so a directional
        field (the geometry) is the caller's to keep in one order."""
        data = [(*_key(a, b), scope, float(d), float(s), v, r, g) for a, b, d, s, v, r, g in rows]
        self._write(
            "INSERT OR REPLACE INTO verdicts (a, b, scope, distance, similarity, "
            "verdict, relation, geometry) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            data,
        )

    def _write(self, sql: str, data: Sequence[tuple[object, ...]]) -> None:
        """``sql`` for each row of ``data``, in one transaction."""
        try:
            with self._db:
                self._db.executemany(sql, data)
        except sqlite3.DatabaseError as exc:
            raise CollectionError(
                str(self.path), f"cannot write the verdict cache: {exc}"
            ) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> VerdictCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def facts(self, digests: Sequence[str], scope: str) -> dict[str, dict[str, Any]]:
        """The stored per-file facts of these (hex) digests."""
        out: dict[str, dict[str, Any]] = {}
        keys = list(dict.fromkeys(digests))
        for s in range(0, len(keys), _BATCH):
            part = keys[s : s + _BATCH]
            marks = ", ".join("?" * len(part))
            try:
                rows = self._db.execute(
                    f"SELECT digest, facts FROM file_facts WHERE scope = ? AND digest IN ({marks})",
                    [scope, *(bytes.fromhex(d) for d in part)],
                ).fetchall()
            except sqlite3.DatabaseError as exc:
                raise CollectionError(str(self.path), f"verdict cache: {exc}") from None
            for digest, text in rows:
                with contextlib.suppress(ValueError):
                    out[bytes(digest).hex()] = json.loads(text)
        return out

    def put_facts(self, rows: Iterable[tuple[str, dict[str, Any]]], scope: str) -> None:
        """Store per-file facts ``(hex digest, JSON-able dict)``."""
        data = [(bytes.fromhex(d), scope, json.dumps(f, sort_keys=True)) for d, f in rows]
        self._write(
            "INSERT OR REPLACE INTO file_facts (digest, scope, facts) VALUES (?, ?, ?)", data
        )
