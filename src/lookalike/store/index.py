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
"""

from __future__ import annotations

import os
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lookalike.errors import UsageError

__all__ = ["BACKENDS", "CodeIndex", "open_index"]

#: Backend names, the default first.
BACKENDS: tuple[str, ...] = ("faiss", "milvus", "postgres")


@runtime_checkable
class CodeIndex(Protocol):
    """What a collection needs from a Hamming-search backend over 64-bit codes.

    Codes are packed rows ``(n, 8)`` uint8 (bit 0 = most significant bit of byte 0);
    ids are int64 catalog file ids.
    """

    backend: str

    def __len__(self) -> int:
        """Number of codes held."""

    def ids(self) -> np.ndarray:
        """Every id held (int64, any order)."""

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Add codes under ids that the index does not hold yet."""

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids (unknown ones are ignored); how many were removed."""

    def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(nq, k)`` ids and Hamming distances of the nearest codes, -1 padded."""

    def state(self) -> dict[str, Any]:
        """The state last committed with the data, or ``{}`` when none can be trusted."""

    def commit(self, state: dict[str, Any]) -> None:
        """Persist the data, then ``state``: a crash in between leaves an older state."""

    def clear(self) -> None:
        """Drop every code and the state (a rebuild or a migration starts here)."""

    def describe(self) -> dict[str, Any]:
        """Facts for ``stats``: backend, location, size."""

    def close(self) -> None:
        """Release files and connections."""


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
