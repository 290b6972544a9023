"""Learned descriptors in the server backends (Milvus Lite, a real PostgreSQL with
pgvector): exact inner-product k-NN, a state kept with the data, a new model's dimension
remaking the index, and a collection whose learned candidates come from there."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edited import CROPPED, corner_crop

import lookalike.search.collection as collection
from lookalike.search.collection import Collection
from lookalike.store.index import VectorIndex, open_vectors
from lookalike.store.vectors import knn_ip

BACKENDS = ["milvus", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Collection arguments of one server backend (skipped where it cannot run here)."""
    if request.param == "milvus":
        pytest.importorskip("pymilvus", reason="the milvus extra is not installed")
        pytest.importorskip("milvus_lite", reason="Milvus Lite is not installed")
        return {"backend": "milvus"}
    return {"backend": "postgres", "postgres_uri": request.getfixturevalue("uri")}


def _opener(backend: dict[str, Any], folder: Path) -> Callable[[int], VectorIndex]:
    def open_(dim: int) -> VectorIndex:
        index = open_vectors(
            backend["backend"], folder, dim=dim, uri=backend.get("postgres_uri"), name="t"
        )
        assert index is not None
        return index

    return open_


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_vector_index_is_exact_persistent_and_remade_for_a_new_model(
    backend: dict[str, Any], tmp_path: Path
) -> None:
    open_ = _opener(backend, tmp_path)
    rng = np.random.default_rng(5)
    vectors = _unit(rng, 2000, 32)
    ids = np.arange(100, 2100, dtype=np.int64)
    index = open_(32)
    assert index.state() == {} and len(index) == 0
    index.add(ids, vectors)
    queries = _unit(rng, 4, 32)
    queries[0] = vectors[7]
    got_i, got_s = index.search(queries, 10)
    want_s, want_j = knn_ip(vectors, queries, 10, use_faiss=False)
    assert np.array_equal(got_i, ids[want_j])  # exact: the same neighbours, in order
    assert np.allclose(got_s, want_s, atol=1e-4)
    assert got_i[0, 0] == 107 and got_s[0, 0] == pytest.approx(1.0, abs=1e-4)
    assert index.remove(np.array([107, 108])) == 2
    assert 107 not in index.search(queries[:1], 5)[0]
    wide_i, wide_s = index.search(queries[:1], 3000)  # more than it holds: padded
    assert (wide_i[0] >= 0).sum() == 1998 and np.isneginf(wide_s[0, 1998:]).all()
    index.commit({"watermark": 9})
    index.close()
    again = open_(32)
    assert again.state()["watermark"] == 9 and len(again) == 1998
    assert again.describe()["backend"] == backend["backend"]
    again.close()
    other = open_(48)  # another model's descriptors: nothing of the old one is trusted
    assert other.state() == {} and len(other) == 0
    other.add(ids[:3], _unit(rng, 3, 48))
    assert other.search(_unit(rng, 1, 48), 5)[0][0].tolist()[:3] != [-1, -1, -1]
    other.drop()
    other.close()


def test_the_server_backend_answers_the_learned_candidates(
    backend: dict[str, Any],
    sample_photos: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("onnxruntime", reason="the embed method needs onnxruntime")
    folder = tmp_path / "照片"
    folder.mkdir()
    for p in sample_photos:
        shutil.copy(p, folder / p.name)
    # One pHash neighbour, no word candidates, and no descriptors held in memory: only the
    # backend's descriptor index can propose the crops' sources.
    monkeypatch.setattr(collection, "CANDIDATES", 1)
    monkeypatch.setattr(collection, "WORD_CANDIDATES", 0)
    monkeypatch.setattr(collection, "EMBED_SEARCH_LIMIT", 0)
    db = tmp_path / "db"
    with Collection(db, create=True, model="default", **backend) as c:
        c.update([folder])
        stats = c.stats()
        assert stats["vectors"]["backend"] == backend["backend"]
        assert stats["vectors"]["size"] == len(sample_photos)
        for name in CROPPED:
            hit = c.search(corner_crop(folder / name), k=1).results[0]
            assert Path(hit.path).name == name and hit.verdict == "similar", hit
        (folder / CROPPED[0]).unlink()
        c.update([folder])
        assert c.stats()["vectors"]["size"] == len(sample_photos) - 1
    with Collection(db) as c:  # reopened: the synced descriptors are trusted, not rebuilt
        assert c.stats()["vectors"]["size"] == len(sample_photos) - 1
        hit = c.search(corner_crop(folder / CROPPED[1]), k=1).results[0]
        assert Path(hit.path).name == CROPPED[1]
        c.migrate("faiss")  # the embedded backend keeps no descriptor index
        assert "vectors" not in c.stats()
        # ... and without the in-memory descriptors it cannot propose the crop any more
        missed = c.search(corner_crop(folder / CROPPED[1]), k=1).results[0]
        assert missed.verdict == "different", missed
    leftover = open_vectors(backend["backend"], db, dim=256, uri=backend.get("postgres_uri"))
    assert leftover is not None and len(leftover) == 0  # the old descriptors were dropped
    leftover.drop()
    leftover.close()
