"""The index protocol: one small interface in front of every Hamming-search backend.

A collection keeps its images' 64-bit pHash codes in an index that answers k-nearest
queries in Hamming distance. The SQLite catalog is the source of truth; an index is a
derived copy that can always be rebuilt from it. So a backend only stores ``(id, code)``
rows, answers k-NN, and persists a small *state* (what the collection last synced into
it) after its data, so an interrupted write is detected and repaired on the next open.

Backends:

* ``faiss`` (default, embedded): :class:`lookalike.store.embedded_index.EmbeddedIndex`, a
  FAISS binary flat index in a file beside the catalog (numpy when faiss is absent);
* ``milvus``: :class:`lookalike.store.milvus_index.MilvusIndex` through pymilvus; a local
  Milvus Lite file by default, or any Milvus server by URI;
* ``postgres``: :class:`lookalike.store.postgres_index.PostgresIndex`, a ``bit(64)`` table
  in a PostgreSQL server with pgvector (exact Hamming scan by ``<~>``), by libpq URI.

A collection with the learned layer also keeps its unit descriptors in a
:class:`VectorIndex` of the same backend (:func:`open_vectors`): a Milvus collection
``NAME_embed`` or a pgvector ``vector(dim)`` table, searched by inner product. The embedded
backend has none: there the descriptors are searched in memory, read from the catalog.
"""

from __future__ import annotations

import os
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lookalike.errors import UsageError

__all__ = ["BACKENDS", "CodeIndex", "VectorIndex", "open_index", "open_vectors"]

#: Backend names, the default first.
BACKENDS: tuple[str, ...] = ("faiss", "milvus", "postgres")


class _SyncedRows(Protocol):
    """What every index a collection syncs from its catalog offers: rows under int64
    catalog file ids, a state committed after the data, and housekeeping."""

    backend: str

    def __len__(self) -> int:
        """Number of rows held."""

    def ids(self) -> np.ndarray:
        """Every id held (int64, any order)."""

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids (unknown ones are ignored); how many were removed."""

    def state(self) -> dict[str, Any]:
        """The state last committed with the data, or ``{}`` when none can be trusted."""

    def commit(self, state: dict[str, Any]) -> None:
        """Persist the data, then ``state``: a crash in between leaves an older state."""

    def clear(self) -> None:
        """Drop every row and the state (a rebuild or a migration starts here)."""

    def describe(self) -> dict[str, Any]:
        """Facts for ``stats``: backend, location, size."""

    def close(self) -> None:
        """Release files and connections."""


@runtime_checkable
class CodeIndex(_SyncedRows, Protocol):
    """What a collection needs from a Hamming-search backend over 64-bit codes.

    Codes are packed rows ``(n, 8)`` uint8 (bit 0 = most significant bit of byte 0).
    """

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Add codes under ids that the index does not hold yet."""

    def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(nq, k)`` ids and Hamming distances of the nearest codes, -1 padded."""


def open_index(
    backend: str,
    directory: str | os.PathLike[str],
    *,
    uri: str | None = None,
    token: str | None = None,
    name: str = "lookalike",
) -> CodeIndex:
    """Open (or create) the index of a collection folder with the named backend.

    ``uri``/``token``/``name`` are for Milvus: a server URI (``http://host:19530``) or a
    Milvus Lite file; None means ``DIRECTORY/milvus.db``. For PostgreSQL ``uri`` is the
    libpq URI of the server (required) and ``name`` prefixes its tables.
    """
    if backend == "faiss":
        from lookalike.store.embedded_index import EmbeddedIndex

        return EmbeddedIndex(directory)
    if backend == "milvus":
        from lookalike.store.milvus_index import MilvusIndex

        return MilvusIndex(directory, uri=uri, token=token, name=name)
    if backend == "postgres":
        from lookalike.store.postgres_index import PostgresIndex

        if not uri:
            raise UsageError(
                "the postgres backend needs a server URI: --postgres-uri "
                "postgresql://user@host:5432/db (or $LOOKALIKE_POSTGRES_URI)"
            )
        return PostgresIndex(uri, name=name)
    raise UsageError(f"unknown index backend {backend!r}; choose from: {', '.join(BACKENDS)}")


@runtime_checkable
class VectorIndex(_SyncedRows, Protocol):
    """What a collection needs from a server backend for unit descriptors (``embed``):
    float rows ``(n, dim)``, nearest by inner product (the cosine)."""

    dim: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add descriptors under ids that the index does not hold yet."""

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(nq, k)`` ids (-1 padded) and inner products (-inf padded), highest first."""

    def drop(self) -> None:
        """Remove the stored descriptors for good (after a migration away)."""


def open_vectors(
    backend: str,
    directory: str | os.PathLike[str],
    *,
    dim: int,
    uri: str | None = None,
    token: str | None = None,
    name: str = "lookalike",
) -> VectorIndex | None:
    """The descriptor index beside a server backend's codes (None for the embedded one,
    whose descriptors are searched in memory). A stored index of another dimension (made
    with another model) is replaced by an empty one."""
    if backend == "milvus":
        from lookalike.store.milvus_index import MilvusVectors

        return MilvusVectors(directory, dim=dim, uri=uri, token=token, name=name)
    if backend == "postgres":
        from lookalike.store.postgres_index import PostgresVectors

        if not uri:
            raise UsageError("the postgres backend needs a server URI")
        return PostgresVectors(uri, dim=dim, name=name)
    return None
