"""The Milvus backend on Milvus Lite (a local file): exact Hamming k-NN through +/-1 float
vectors, the same top results as the embedded FAISS backend, and migration both ways."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from lookalike.cli import main
from lookalike.search.collection import Collection
from lookalike.store.hamming import knn
from lookalike.store.milvus_index import MilvusIndex, codes_to_vectors


def test_vectors_inner_product_is_hamming() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 256, (2, 50, 8), dtype=np.uint8)
    ip = (codes_to_vectors(a) * codes_to_vectors(b)).sum(axis=1)
    ham = np.unpackbits(a ^ b, axis=1).sum(axis=1)
    assert np.array_equal((64 - ip) / 2, ham)


def test_milvus_index_is_exact_and_persistent(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, (3000, 8), dtype=np.uint8)
    ids = np.arange(10, 3010, dtype=np.int64)
    index = MilvusIndex(tmp_path)
    assert index.state() == {}
    index.add(ids, codes)
    queries = codes[[0, 5, 77]].copy()
    queries[:, 0] ^= 1  # one bit off each
    got_i, got_d = index.search(queries, 10)
    _, want_d = knn(codes, queries, 10)
    assert np.array_equal(got_d, want_d)  # exact distances (ties may order differently)
    assert got_i[:, 0].tolist() == [10, 15, 87] and got_d[:, 0].tolist() == [1, 1, 1]
    assert index.remove(np.array([10, 15])) == 2
    assert 10 not in index.search(queries[:1], 5)[0]
    index.commit({"watermark": 5})
    index.close()
    again = MilvusIndex(tmp_path)
    assert again.state()["watermark"] == 5 and len(again) == 2998
    assert again.describe()["rows"] == 2998
    again.clear()
    assert len(again) == 0 and again.state() == {}
    again.close()


def test_milvus_collection_matches_faiss_and_migrates(
    tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for p in sample_photos:
        shutil.copy(p, lib / p.name)
    queries = [sample_photos[1], sample_photos[4]]

    def tops(coll: Collection) -> list[list[tuple[str, int]]]:
        return [
            [(h.path, h.distance) for h in coll.search(q, k=4, verify=False).results]
            for q in queries
        ]

    with Collection(tmp_path / "f", create=True) as faiss_coll:
        faiss_coll.update([lib])
        want = tops(faiss_coll)
        want_verified = [faiss_coll.search(q, k=1).results[0].path for q in queries]
    with Collection(tmp_path / "m", backend="milvus", create=True) as milvus_coll:
        milvus_coll.update([lib])
        assert milvus_coll.stats()["index"]["backend"] == "milvus"
        assert [r[0] for r in tops(milvus_coll)] == [r[0] for r in want]
        assert [[d for _, d in r] for r in tops(milvus_coll)] == [[d for _, d in r] for r in want]
        assert [milvus_coll.search(q, k=1).results[0].path for q in queries] == want_verified
        (lib / sample_photos[0].name).unlink()
        assert milvus_coll.update([lib]).removed == 1
        assert milvus_coll.stats()["index"]["size"] == 7

    db = tmp_path / "f"
    assert main(["migrate", "--db", str(db), "--to", "milvus", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["from"] == "faiss" and out["to"] == "milvus"
    assert out["collection"]["index"]["size"] == 8 and not (db / "index.npz").exists()
    with Collection(db) as coll:
        assert coll.stats()["backend"] == "milvus"
        assert [r[0] for r in tops(coll)] == [r[0] for r in want]
    assert main(["migrate", "--db", str(db), "--to", "faiss"]) == 0
    capsys.readouterr()
    assert (db / "index.npz").exists() and not (db / "milvus.state.json").exists()
    with Collection(db) as coll:
        assert coll.stats()["backend"] == "faiss" and tops(coll) == want


def test_milvus_collection_reopened_by_another_process(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    """A Milvus Lite collection written by one process starts 'released' in the next,
    which must load it before searching (the CLI's index, then search, processes)."""
    db = tmp_path / "m"
    run = [sys.executable, "-m", "lookalike"]
    lib = [str(p) for p in sample_photos[:4]]
    proc = subprocess.run(
        [*run, "index", *lib, "--db", str(db), "--backend", "milvus", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(
        [*run, "search", lib[2], "--db", str(db), "-k", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["path"] == lib[2]
