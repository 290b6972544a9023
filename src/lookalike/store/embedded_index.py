"""The embedded default backend ("faiss"): exact Hamming k-NN in a file beside the catalog.

Exact k-NN in Hamming distance (FAISS ``IndexBinaryFlat`` via
:class:`~lookalike.store.hamming.HammingIndex`; numpy when faiss is absent). Data goes to
``index.npz`` and the sync state to ``index.state.json``, each written to a temporary file
and moved into place (``os.replace``), data first. A missing, unreadable or inconsistent
file reads as an empty index with no state, so the collection rebuilds it from the catalog.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.errors import CollectionError
from lookalike.store.atomic import read_state, write_json_atomic
from lookalike.store.hamming import HammingIndex

__all__ = ["EmbeddedIndex"]

INDEX_FILE = "index.npz"
STATE_FILE = "index.state.json"


def _ids_checksum(ids: np.ndarray) -> int:
    """Order-independent checksum of an id set (ties the state to the data file)."""
    return int(
        np.bitwise_xor.reduce(
            (ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)), initial=np.uint64(len(ids))
        )
    )


class EmbeddedIndex:
    """64-bit codes in a :class:`HammingIndex` persisted under ``directory``."""

    backend = "faiss"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / INDEX_FILE
        self.state_path = self.directory / STATE_FILE
        #: Why the stored index could not be used (None when it loaded, or there was none).
        self.damage: str | None = None
        try:
            self._index = HammingIndex.load(self.path)
        except CollectionError as exc:
            if self.path.exists():
                self.damage = exc.reason
            self._index = HammingIndex(64)
        if self._index.nbits not in (None, 64):
            self.damage = f"{self._index.nbits}-bit codes, expected 64"
            self._index = HammingIndex(64)

    def __len__(self) -> int:
        return len(self._index)

    def ids(self) -> np.ndarray:
        return self._index.ids

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        if len(ids):
            self._index.add(np.ascontiguousarray(codes, dtype=np.uint8), ids)

    def remove(self, ids: np.ndarray) -> int:
        return self._index.remove(ids) if len(ids) else 0

    def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._index.search(np.ascontiguousarray(codes, dtype=np.uint8), k)

    def state(self) -> dict[str, Any]:
        if self.damage is not None:
            return {}
        state = read_state(self.state_path)
        ids = self._index.ids
        if state.get("count") != len(ids) or state.get("ids_checksum") != _ids_checksum(ids):
            return {}  # the state belongs to another version of the data file
        return state

    def commit(self, state: dict[str, Any]) -> None:
        self._index.save(self.path)
        ids = self._index.ids
        write_json_atomic(
            self.state_path, {**state, "count": len(ids), "ids_checksum": _ids_checksum(ids)}
        )
        self.damage = None

    def clear(self) -> None:
        self._index = HammingIndex(64)
        for p in (self.state_path, self.path):
            p.unlink(missing_ok=True)

    def describe(self) -> dict[str, Any]:
        size = self.path.stat().st_size if self.path.exists() else 0
        return {"backend": self.backend, "location": str(self.path), "bytes": size}

    def close(self) -> None:
        """Nothing to release: the data lives in memory and in its file."""
