"""The scale-out backend: the same codes in Milvus, through pymilvus.

``uri`` selects the deployment with the same client code: a local Milvus Lite file
(``DIR/milvus.db``, the default, no server; what the tests run) or a Milvus server /
cluster (``http://host:19530`` plus a token, from ``$LOOKALIKE_MILVUS_TOKEN`` in the CLI).

Vectors: milvus-lite 3.x refuses ``BINARY_VECTOR`` ("Phase 10.2 supports ... FLOAT_VECTOR,
SPARSE_FLOAT_VECTOR", checked with milvus-lite 3.2.2 / pymilvus 3.0.2), so each 64-bit
code is stored as a 64-dim FLOAT_VECTOR of +1/-1 and searched by inner product with a
FLAT (exact) index: for +/-1 vectors ``ip = bits - 2 * hamming``, so
``hamming = (bits - ip) / 2`` exactly, and the IP order is the Hamming order. A server
would also take BINARY_VECTOR + HAMMING (32x smaller); that path is not shipped because
the tests could not run it.

Learned descriptors (``embed``) go to a second collection, ``NAME_embed``
(:class:`MilvusVectors`): unit FLOAT_VECTORs searched by inner product (the cosine) with a
FLAT index, created with the model's dimension; a new model drops and remakes it.

The sync state goes to ``milvus.state.json`` (``milvus.embed.state.json``) beside the
catalog after a ``flush``; it names the URI and collection, so a state never vouches for
another deployment.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.errors import CollectionError, require
from lookalike.store.atomic import read_state, write_json_atomic

__all__ = ["BITS", "MilvusIndex", "MilvusVectors", "codes_to_vectors"]

BITS = 64
STATE_FILE = "milvus.state.json"
EMBED_STATE_FILE = "milvus.embed.state.json"
_BATCH = 10_000  # rows per insert / delete / query page
_MAX_TOPK = 16_384  # Milvus' limit on k


def codes_to_vectors(codes: np.ndarray) -> np.ndarray:
    """Packed ``(n, 8)`` uint8 codes -> ``(n, 64)`` float32 vectors of +1 (bit set) / -1."""
    bits = np.unpackbits(np.ascontiguousarray(codes, dtype=np.uint8), axis=1)
    return bits.astype(np.float32) * 2.0 - 1.0


class _MilvusRows:
    """Rows ``(id, vector)`` in one Milvus collection: what both kinds of index share
    (opening, ids, deletes, the state file, describing, dropping)."""

    backend = "milvus"
    _field = "vector"

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        uri: str | None,
        token: str | None,
        name: str,
        state_file: str,
        dim: int,
    ) -> None:
        pymilvus = require("pymilvus", "milvus")
        self._dtype = pymilvus.DataType
        self.directory = Path(directory)
        self.uri = uri or str(self.directory / "milvus.db")
        self.name = name
        self.dim = dim
        self.state_path = self.directory / state_file
        kwargs: dict[str, Any] = {"uri": self.uri}
        if token:
            kwargs["token"] = token
        try:
            self._client = pymilvus.MilvusClient(**kwargs)
            self._created = self._ensure()
        except pymilvus.exceptions.MilvusException as exc:
            raise CollectionError(self.uri, f"cannot open Milvus: {exc.message}") from None
        except (AssertionError, OSError) as exc:  # Milvus Lite: e.g. the file is locked
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CollectionError(
                self.uri,
                f"cannot open Milvus ({first}); a Milvus Lite file serves one process "
                "at a time: use a Milvus server URI to share a collection",
            ) from None

    def _stored_dim(self) -> int | None:
        """The vector dimension of the existing collection (None when it has none)."""
        for field in self._client.describe_collection(self.name).get("fields", []):
            if field.get("name") == self._field:
                return int(field.get("params", {}).get("dim", 0)) or None
        return None

    def _ensure(self) -> bool:
        """Create the collection when absent (or when it holds vectors of another
        dimension: a new model); True when it was created now."""
        if self._client.has_collection(self.name):
            if self._stored_dim() == self.dim:
                # another process's collection starts released: load it before searching
                self._client.load_collection(self.name)
                return False
            self._client.drop_collection(self.name)
        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", self._dtype.INT64, is_primary=True)
        schema.add_field(self._field, self._dtype.FLOAT_VECTOR, dim=self.dim)
        params = self._client.prepare_index_params()
        params.add_index(self._field, index_type="FLAT", metric_type="IP")
        self._client.create_collection(
            self.name, schema=schema, index_params=params, consistency_level="Strong"
        )
        return True

    def __len__(self) -> int:
        return len(self.ids())

    def ids(self) -> np.ndarray:
        # Milvus Lite has no MVCC timestamp: the iterator warns once per call; say it once.
        quiet = logging.getLogger("pymilvus.client.iterator.query_iterator")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        out: list[int] = []
        try:
            it = self._client.query_iterator(
                self.name, batch_size=_BATCH, filter="id >= -1", output_fields=["id"]
            )
            try:
                while page := it.next():
                    out.extend(int(r["id"]) for r in page)
            finally:
                it.close()
        finally:
            quiet.setLevel(level)
        return np.array(out, dtype=np.int64)

    def _insert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        for s in range(0, len(ids), _BATCH):
            rows = [
                {"id": int(i), self._field: v}
                for i, v in zip(ids[s : s + _BATCH].tolist(), vectors[s : s + _BATCH], strict=True)
            ]
            self._client.insert(self.name, rows)

    def _nearest(self, vectors: np.ndarray, k: int) -> list[list[tuple[float, int]]]:
        """Each query's ``(inner product, id)`` of up to ``k`` rows, highest first."""
        if len(vectors) == 0:
            return []
        hits = self._client.search(
            self.name,
            data=np.asarray(vectors, np.float32).tolist(),
            limit=min(k, _MAX_TOPK),
            anns_field=self._field,
            search_params={"metric_type": "IP"},
            output_fields=["id"],
        )
        return [
            sorted(((float(h["distance"]), int(h["id"])) for h in row), key=lambda t: (-t[0], t[1]))
            for row in hits
        ]

    def remove(self, ids: np.ndarray) -> int:
        ids = np.asarray(ids, dtype=np.int64)
        n = 0
        for s in range(0, len(ids), _BATCH):
            part = ids[s : s + _BATCH].tolist()
            res = self._client.delete(self.name, ids=part)
            n += int(res.get("delete_count", len(part))) if isinstance(res, dict) else len(part)
        return n

    def state(self) -> dict[str, Any]:
        if self._created:
            return {}
        state = read_state(self.state_path)
        if state.get("uri") != self.uri or state.get("collection") != self.name:
            return {}
        return state

    def commit(self, state: dict[str, Any]) -> None:
        self._client.flush(self.name)
        write_json_atomic(self.state_path, {**state, "uri": self.uri, "collection": self.name})
        self._created = False

    def clear(self) -> None:
        self.state_path.unlink(missing_ok=True)
        if self._client.has_collection(self.name):
            self._client.drop_collection(self.name)
        self._created = self._ensure()

    def drop(self) -> None:
        """Remove the collection and the state for good (after a migration away)."""
        self.state_path.unlink(missing_ok=True)
        if self._client.has_collection(self.name):
            self._client.drop_collection(self.name)

    def describe(self) -> dict[str, Any]:
        stats = self._client.get_collection_stats(self.name)
        out: dict[str, Any] = {
            "backend": self.backend,
            "location": self.uri,
            "collection": self.name,
            "rows": int(stats.get("row_count", 0)),
        }
        if os.path.exists(self.uri):
            out["bytes"] = os.path.getsize(self.uri)
        return out

    def close(self) -> None:
        self._client.close()


class MilvusIndex(_MilvusRows):
    """64-bit codes in a Milvus collection ``name`` (exact FLAT search, inner product)."""

    _field = "code"

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        uri: str | None = None,
        token: str | None = None,
        name: str = "lookalike",
    ) -> None:
        super().__init__(
            directory, uri=uri, token=token, name=name, state_file=STATE_FILE, dim=BITS
        )

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        self._insert(ids, codes_to_vectors(codes))

    def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        nq = len(codes)
        out_i = np.full((nq, k), -1, np.int64)
        out_d = np.full((nq, k), -1, np.int32)
        for q, row in enumerate(self._nearest(codes_to_vectors(codes), k)):
            # ip = bits - 2 * hamming; ties by id, as the embedded index breaks them
            got = sorted(((BITS - ip) / 2.0, i) for ip, i in row)
            for r, (d, i) in enumerate(got[:k]):
                out_i[q, r] = i
                out_d[q, r] = round(d)
        return out_i, out_d


class MilvusVectors(_MilvusRows):
    """Unit descriptors of ``dim`` floats in the Milvus collection ``NAME_embed`` (exact
    FLAT search by inner product, which is the cosine)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        dim: int,
        uri: str | None = None,
        token: str | None = None,
        name: str = "lookalike",
    ) -> None:
        super().__init__(
            directory,
            uri=uri,
            token=token,
            name=f"{name}_embed",
            state_file=EMBED_STATE_FILE,
            dim=dim,
        )

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._insert(ids, np.asarray(vectors, np.float32))

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        out_i = np.full((len(vectors), k), -1, np.int64)
        out_s = np.full((len(vectors), k), -np.inf, np.float32)
        for q, row in enumerate(self._nearest(vectors, k)):
            for r, (s, i) in enumerate(row[:k]):
                out_i[q, r], out_s[q, r] = i, s
        return out_i, out_s
