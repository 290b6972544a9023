"""The PostgreSQL backend ("postgres"): the same codes in a table of ``bit(64)``, pgvector.

For a team that already runs PostgreSQL: the codes live in ``NAME_codes (id bigint primary
key, code bit(64))`` and k-NN is pgvector's Hamming operator ``<~>`` (pgvector >= 0.7).

* Exact (the default): one scan of the table for all the query codes, keeping the rows
  within a per-query bound (the k-th distance among a sample of stored codes), then the
  k nearest of those by (distance, id) as the embedded FAISS backend breaks ties; a
  query with fewer than k rows within its bound falls back to ``ORDER BY code <~> q, id
  LIMIT k``. So the ids and distances are the same as FAISS's on the same codes.
* ``approximate=True``: an HNSW index (``bit_hamming_ops``) answers instead; much faster
  on large tables, but not exact (on random 64-bit hashes, HNSW's recall is low, see
  docs/scale.md): for a server that must answer in milliseconds and may miss a copy.

The sync state is a row of ``NAME_state`` written in the same transaction as the codes:
the data and its state commit together or not at all (no state file beside the catalog).
Codes go in and ids come out through binary ``COPY`` built and parsed with numpy. The URI
is a libpq one (``postgresql://user@host:5432/db``); keep the password out of it (it is
saved in collection.json): libpq reads ``$PGPASSWORD`` or ``~/.pgpass``. One collection per
database and ``name``; several collections share a server through distinct databases or
schemas (``?options=-csearch_path%3Dmine``).

Learned descriptors (``embed``) go to ``NAME_embed (id bigint primary key, v vector(dim))``
with their own state table (:class:`PostgresVectors`): exact k-NN by pgvector's negative
inner product ``<#>`` (the cosine of unit vectors), or an HNSW index (``vector_ip_ops``)
when approximate; a new model (another dimension) remakes the table.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from lookalike.errors import CollectionError, UsageError, require

__all__ = ["PostgresIndex", "PostgresVectors", "safe_uri"]

BITS = 64
_BATCH = 200_000  # rows per COPY buffer / delete
_SAMPLE = 16_384  # stored codes that bound each query's k-th distance
_OR_TERMS = 16  # query codes per bounded scan
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags 0, no extension
#: One binary COPY row: 2 fields, the int8 id, the bit(64) as its length in bits + 8 bytes.
_ROW_IN = np.dtype(
    [("nf", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("nbits", ">i4"), ("code", "V8")]
)
_ROW_ID = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("id", ">i8")])


def _code_rows(ids: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Binary COPY rows of ``(id, code)``, built without a Python loop."""
    rows = np.empty(len(ids), _ROW_IN)
    rows["nf"], rows["l1"], rows["l2"], rows["nbits"] = 2, 8, 12, BITS
    rows["id"] = ids
    rows["code"] = np.ascontiguousarray(codes, dtype=np.uint8).view("V8").reshape(-1)
    return rows


def _bit_strings(codes: np.ndarray) -> list[str]:
    """Packed codes as pgvector / PostgreSQL bit literals ('0101...')."""
    bits = np.unpackbits(np.ascontiguousarray(codes, dtype=np.uint8), axis=1) + ord("0")
    return [row.tobytes().decode("ascii") for row in bits]


def _parse_bits(texts: list[str]) -> np.ndarray:
    """Bit literals ('0101...', 64 characters each) -> packed ``(n, 8)`` uint8 codes."""
    if not texts:
        return np.empty((0, 8), np.uint8)
    bits = np.frombuffer("".join(texts).encode("ascii"), np.uint8).reshape(-1, BITS) - ord("0")
    return np.packbits(bits, axis=1)


def safe_uri(uri: str) -> str:
    """The URI without a password (for stats and error messages)."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", uri)


class _PostgresRows:
    """Rows ``(id, value)`` in a table ``{rows}`` with a sync state in ``{state}``: what
    both kinds of index share (connecting, ids, deletes, state, describing, dropping)."""

    backend = "postgres"
    #: The table's value column and its type ({dim} is filled in).
    _column = "code bit(64)"
    #: The HNSW operator class (approximate search).
    _opclass = "bit_hamming_ops"
    _value = "code"

    def __init__(self, uri: str, *, name: str, kind: str, approximate: bool, dim: int) -> None:
        """The table ``NAME_KIND`` (its state: ``NAME_state`` for the codes, which predate
        the descriptors, else ``NAME_KIND_state``)."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", name):
            raise UsageError(f"index name {name!r}: use lower-case letters, digits and _")
        table = f"{name}_{kind}"
        psycopg = require("psycopg", "postgres")
        self._sql = require("psycopg.sql", "postgres")
        self.uri = uri
        self.name = name
        self.table = table
        self.dim = dim
        self.approximate = approximate
        self._rows = self._sql.Identifier(table)
        self._state = self._sql.Identifier(f"{name}_state" if kind == "codes" else f"{table}_state")
        self._hnsw = self._sql.Identifier(f"{table}_hnsw")
        try:
            self._conn = psycopg.connect(uri, connect_timeout=10)
            self._created = self._ensure()
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CollectionError(safe_uri(uri), f"cannot open PostgreSQL: {first}") from None
        self._dirty = False

    def _q(self, text: str) -> Any:
        """SQL text with {rows}, {state} and {hnsw} filled by quoted identifiers."""
        return self._sql.SQL(text).format(rows=self._rows, state=self._state, hnsw=self._hnsw)

    def _column_type(self) -> str | None:
        """The value column's type as stored (None when the table does not exist)."""
        row = self._conn.execute(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(%s) AND a.attname = %s",
            (self.table, self._value),
        ).fetchone()
        return None if row is None else str(row[0])

    def _ensure(self) -> bool:
        """Create the extension, the tables (and the HNSW index); True when made now.
        A table whose values have another type (another model's dimension) is remade."""
        c = self._conn
        c.execute("CREATE EXTENSION IF NOT EXISTS vector")
        column = self._column.format(dim=self.dim)
        stored = self._column_type()
        if stored is not None and stored != column.split(" ", 1)[1]:
            c.execute(self._q("DROP TABLE {rows}"))
            c.execute(self._q("DROP TABLE IF EXISTS {state}"))
            stored = None
        c.execute(self._q(f"CREATE TABLE IF NOT EXISTS {{rows}} (id bigint PRIMARY KEY, {column} NOT NULL)"))  # fmt: skip # noqa: E501
        c.execute(self._q("CREATE TABLE IF NOT EXISTS {state} (key text PRIMARY KEY, value jsonb)"))
        if self.approximate:
            c.execute(self._q(f"CREATE INDEX IF NOT EXISTS {{hnsw}} ON {{rows}} USING hnsw ({self._value} {self._opclass})"))  # fmt: skip # noqa: E501
        c.commit()
        return stored is None

    def _read_done(self) -> None:
        """End a read-only transaction (an idle open one would hold back VACUUM)."""
        if not self._dirty:
            self._conn.rollback()

    def __len__(self) -> int:
        n = int(self._conn.execute(self._q("SELECT count(*) FROM {rows}")).fetchone()[0])
        self._read_done()
        return n

    def ids(self) -> np.ndarray:
        out = self._q("COPY (SELECT id FROM {rows}) TO STDOUT (FORMAT binary)")
        with self._conn.cursor() as cur, cur.copy(out) as cp:
            data = b"".join(bytes(block) for block in cp)
        self._read_done()
        body = data[len(_COPY_SIGNATURE) : len(data) - 2]
        return np.frombuffer(body, _ROW_ID)["id"].astype(np.int64)

    def _copy_in(self, rows: np.ndarray) -> None:
        """Write binary COPY rows of ``(id, value)`` (a structured array in the wire
        format) into the table, :data:`_BATCH` rows per COPY stream."""
        if len(rows) == 0:
            return
        self._changed()
        with self._conn.cursor() as cur:
            for s in range(0, len(rows), _BATCH):
                with cur.copy(self._q(f"COPY {{rows}} (id, {self._value}) FROM STDIN (FORMAT binary)")) as cp:  # fmt: skip # noqa: E501
                    cp.write(_COPY_SIGNATURE + rows[s : s + _BATCH].tobytes() + b"\xff\xff")

    def _changed(self) -> None:
        """The table is written in the open transaction."""
        self._dirty = True

    def remove(self, ids: np.ndarray) -> int:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return 0
        self._changed()
        n = 0
        for s in range(0, len(ids), _BATCH):
            cur = self._conn.execute(
                self._q("DELETE FROM {rows} WHERE id = ANY(%s)"), (ids[s : s + _BATCH].tolist(),)
            )
            n += cur.rowcount
        return n

    def state(self) -> dict[str, Any]:
        if self._created:
            return {}
        row = self._conn.execute(
            self._q("SELECT value FROM {state} WHERE key = 'state'")
        ).fetchone()
        self._read_done()
        value = row[0] if row else {}
        return value if isinstance(value, dict) else {}

    def commit(self, state: dict[str, Any]) -> None:
        self._conn.execute(
            self._q(
                "INSERT INTO {state} (key, value) VALUES ('state', %s::jsonb) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            (json.dumps(state),),
        )
        self._conn.commit()  # the codes and their state in one transaction
        self._dirty = False
        self._created = False

    def clear(self) -> None:
        """Empty the table and the state, in the transaction the next commit ends."""
        self._changed()
        self._conn.execute(self._q("TRUNCATE {rows}"))
        self._conn.execute(self._q("DELETE FROM {state}"))

    def drop(self) -> None:
        """Remove the tables for good (after a migration away)."""
        self._conn.rollback()
        self._conn.execute(self._q("DROP TABLE IF EXISTS {rows}, {state}"))
        self._conn.commit()
        self._dirty = False

    def describe(self) -> dict[str, Any]:
        rows, size = self._conn.execute(
            self._q("SELECT count(*), pg_total_relation_size(%s) FROM {rows}"),
            (self.table,),
        ).fetchone()
        self._read_done()
        return {
            "backend": self.backend,
            "location": safe_uri(self.uri),
            "table": self.table,
            "rows": int(rows),
            "bytes": int(size),
            "search": "hnsw (approximate)" if self.approximate else "exact scan",
        }

    def close(self) -> None:
        """Close the connection; writes not committed with a state are rolled back."""
        self._conn.close()


class PostgresIndex(_PostgresRows):
    """64-bit codes in PostgreSQL (pgvector ``bit(64)``, Hamming ``<~>``) at ``uri``."""

    def __init__(self, uri: str, *, name: str = "lookalike", approximate: bool = False) -> None:
        super().__init__(uri, name=name, kind="codes", approximate=approximate, dim=BITS)
        self._sample: np.ndarray | None = None

    def _changed(self) -> None:
        super()._changed()
        self._sample = None

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        self._copy_in(_code_rows(np.asarray(ids, dtype=np.int64), codes))

    def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k <= 0:
            raise UsageError("k must be positive")
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        nq = len(codes)
        out_i = np.full((nq, k), -1, np.int64)
        out_d = np.full((nq, k), -1, np.int32)
        if nq == 0:
            return out_i, out_d
        if self.approximate:
            q, i, d = self._ordered(codes, int(k))
        else:
            q, i, d, short = self._bounded(codes, int(k))
            if short.any():  # fewer than k rows within the guessed bound: scan in order
                sq, si, sd = self._ordered(codes[short], int(k))
                q = np.concatenate([q, np.flatnonzero(short)[sq]])
                i, d = np.concatenate([i, si]), np.concatenate([d, sd])
        self._read_done()
        o = np.lexsort((i, d, q))  # (query, distance, id), as FAISS breaks ties
        q, i, d = q[o], i[o], d[o]
        rank = np.arange(len(q)) - np.searchsorted(q, np.arange(nq))[q]
        keep = rank < k
        out_i[q[keep], rank[keep]], out_d[q[keep], rank[keep]] = i[keep], d[keep]
        return out_i, out_d

    def _ordered(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(query, id, distance)`` of each query's k nearest by ``ORDER BY <~>`` (HNSW
        when approximate, else a scan per query code)."""
        order = "c.code <~> q.code" if self.approximate else "c.code <~> q.code, c.id"
        if self.approximate:  # HNSW returns at most ef_search rows
            self._conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, min(k, 1000))}")
        rows = self._conn.execute(
            self._q(
                "SELECT q.n, h.id, h.d FROM unnest(%s::bit(64)[]) WITH ORDINALITY AS q(code, n) "
                "CROSS JOIN LATERAL (SELECT c.id, (c.code <~> q.code)::int AS d FROM {rows} c "
                f"ORDER BY {order} LIMIT %s) h"
            ),
            (_bit_strings(codes), k),
        ).fetchall()
        got = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return got[:, 0] - 1, got[:, 1], got[:, 2]

    def _sample_codes(self) -> np.ndarray:
        """Some stored codes (any rows), kept until this index writes."""
        if self._sample is None:
            rows = self._conn.execute(
                self._q("SELECT code::text FROM {rows} LIMIT %s"), (_SAMPLE,)
            ).fetchall()
            self._sample = _parse_bits([r[0] for r in rows])
        return self._sample

    def _bounded(
        self, codes: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Exact k nearest in one scan for all query codes, by a distance bound per query.

        The bound is the k-th distance in a sample of stored codes; one scan returns every
        row within its query's bound, and when a query has at least k of them its k
        nearest are among them (any other row is farther than the bound): exact whatever
        the sample was. Queries with fewer than k rows come back as ``short``.
        """
        sample = self._sample_codes()
        if k > len(sample) == _SAMPLE:  # a large k on a large table: ordered scans
            none = np.empty(0, np.int64)
            return none, none, none, np.ones(len(codes), bool)
        if len(sample) >= k:
            dist = np.bitwise_count(codes[:, None, :] ^ sample[None, :, :]).sum(axis=2)
            bound = np.partition(dist, k - 1, axis=1)[:, k - 1]
        else:
            bound = np.full(len(codes), BITS)
        ids: list[int] = []
        texts: list[str] = []
        for s in range(0, len(codes), _OR_TERMS):
            part = _bit_strings(codes[s : s + _OR_TERMS])
            where = " OR ".join(["(code <~> %s::bit(64)) <= %s"] * len(part))
            args = [
                x
                for pair in zip(part, bound[s : s + _OR_TERMS].tolist(), strict=True)
                for x in pair
            ]
            for i, t in self._conn.execute(
                self._q(f"SELECT id, code::text FROM {{rows}} WHERE {where}"), args
            ):
                ids.append(i)
                texts.append(t)
        found = _parse_bits(texts)
        dist = np.bitwise_count(codes[:, None, :] ^ found[None, :, :]).sum(axis=2)
        q, j = np.nonzero(dist <= bound[:, None])
        short = np.bincount(q, minlength=len(codes)) < k
        keep = ~short[q]
        q, j = q[keep], j[keep]
        return q, np.array(ids, np.int64)[j], dist[q, j].astype(np.int64), short


class PostgresVectors(_PostgresRows):
    """Unit descriptors of ``dim`` floats in ``NAME_embed`` (pgvector ``vector(dim)``),
    nearest by inner product ``<#>``: an exact scan, or HNSW when ``approximate``."""

    _column = "v vector({dim})"
    _opclass = "vector_ip_ops"
    _value = "v"

    def __init__(
        self, uri: str, *, dim: int, name: str = "lookalike", approximate: bool = False
    ) -> None:
        super().__init__(uri, name=name, kind="embed", approximate=approximate, dim=dim)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        row = np.dtype(
            [("nf", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("dim", ">i2"),
             ("unused", ">i2"), ("v", ">f4", (self.dim,))]
        )  # fmt: skip
        rows = np.empty(len(ids), row)
        rows["nf"], rows["l1"], rows["l2"], rows["dim"], rows["unused"] = (
            2,
            8,
            4 + 4 * self.dim,
            self.dim,
            0,
        )
        rows["id"] = ids
        rows["v"] = np.asarray(vectors, np.float32).reshape(len(ids), self.dim)
        self._copy_in(rows)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each query's ``k`` rows of highest inner product: ids (-1 padded) and
        similarities (-inf padded), highest first, ties by id."""
        if k <= 0:
            raise UsageError("k must be positive")
        vectors = np.asarray(vectors, np.float32).reshape(-1, self.dim)
        out_i = np.full((len(vectors), k), -1, np.int64)
        out_s = np.full((len(vectors), k), -np.inf, np.float32)
        if len(vectors) == 0:
            return out_i, out_s
        if self.approximate:  # HNSW returns at most ef_search rows
            self._conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, min(k, 1000))}")
        order = "e.v <#> q.v" if self.approximate else "e.v <#> q.v, e.id"
        literals = ["[" + ",".join(map(repr, row.tolist())) + "]" for row in vectors]
        rows = self._conn.execute(
            self._q(
                "SELECT q.n, h.id, h.s FROM unnest(%s::vector[]) WITH ORDINALITY AS q(v, n) "
                "CROSS JOIN LATERAL (SELECT e.id, -(e.v <#> q.v) AS s FROM {rows} e "
                f"ORDER BY {order} LIMIT %s) h"
            ),
            (literals, k),
        ).fetchall()
        self._read_done()
        if rows:
            got = np.array(rows, dtype=np.float64)
            q, i, sim = got[:, 0].astype(np.int64) - 1, got[:, 1].astype(np.int64), got[:, 2]
            o = np.lexsort((i, -sim, q))  # (query, similarity descending, id)
            q, i, sim = q[o], i[o], sim[o]
            rank = np.arange(len(q)) - np.searchsorted(q, np.arange(len(vectors)))[q]
            out_i[q, rank], out_s[q, rank] = i, sim
        return out_i, out_s
