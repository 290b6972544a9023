"""The PostgreSQL backend on a real server (127.0.0.1, pgvector): exact Hamming k-NN equal
to the embedded FAISS backend's, codes and state committed together, a collection indexed
through the CLI and migrated both ways."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from lookalike.cli import main
from lookalike.search.collection import Collection
from lookalike.store.hamming import HammingIndex
from lookalike.store.postgres_index import PostgresIndex


def test_postgres_search_equals_faiss_ids_and_distances(uri: str) -> None:
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 256, (4000, 8), dtype=np.uint8)
    codes[100:140] = codes[7]  # identical codes: ties broken by the lower id on both sides
    codes[200:230, :7] = codes[8, :7]  # near copies: many ties at small distances
    ids = np.arange(1000, 5000, dtype=np.int64)
    want = HammingIndex(64)
    want.add(codes, ids)
    index = PostgresIndex(uri)
    index.add(ids, codes)
    queries = np.concatenate([codes[[7, 8, 3999]], rng.integers(0, 256, (5, 8), dtype=np.uint8)])
    queries[2, 3] ^= 0x10
    for k in (1, 10, 50):
        got_i, got_d = index.search(queries, k)
        want_i, want_d = want.search(queries, k)
        assert np.array_equal(got_i, want_i) and np.array_equal(got_d, want_d)
    assert np.array_equal(np.sort(index.ids()), ids) and len(index) == 4000
    got_i, got_d = index.search(queries[:2], 4100)  # more than it holds: -1 padded
    want_i, want_d = want.search(queries[:2], 4100)
    assert np.array_equal(got_i, want_i) and np.array_equal(got_d, want_d)
    index.commit({})
    other = PostgresIndex(uri)  # another client deletes the rows this one sampled
    other.remove(ids[:3000])
    other.commit({})
    other.close()
    want.remove(ids[:3000])
    got_i, got_d = index.search(queries, 10)
    want_i, want_d = want.search(queries, 10)
    assert np.array_equal(got_i, want_i) and np.array_equal(got_d, want_d)
    index.close()


def test_postgres_codes_and_state_commit_together(uri: str) -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 256, (500, 8), dtype=np.uint8)
    index = PostgresIndex(uri)
    assert index.state() == {}
    index.add(np.arange(500), codes)
    index.commit({"watermark": 3})
    index.remove(np.arange(10))  # never committed: rolled back on close
    index.add(np.arange(1000, 1003), codes[:3])
    index.close()
    again = PostgresIndex(uri)
    assert again.state() == {"watermark": 3} and len(again) == 500
    assert again.describe()["rows"] == 500 and again.describe()["bytes"] > 0
    assert again.remove(np.array([0, 1, 99_999])) == 2
    again.commit({"watermark": 4})
    top, _ = again.search(codes[:1], 3)
    assert top[0, 0] not in (0, 1)
    again.clear()
    assert len(again) == 0 and again.state() == {}
    again.close()
    third = PostgresIndex(uri)  # clear() without a commit changed nothing
    assert third.state() == {"watermark": 4} and len(third) == 498
    third.drop()
    third.close()


def test_postgres_hnsw_is_approximate_but_sorted(uri: str) -> None:
    rng = np.random.default_rng(9)
    codes = rng.integers(0, 256, (3000, 8), dtype=np.uint8)
    index = PostgresIndex(uri, approximate=True)
    index.add(np.arange(3000), codes)
    index.commit({})
    got_i, got_d = index.search(codes[:20], 10)
    exact = HammingIndex(64)
    exact.add(codes)
    _, want_d = exact.search(codes[:20], 10)
    assert (got_i[:, 0] == np.arange(20)).all()  # each code finds itself
    assert (np.diff(got_d, axis=1) >= 0).all() and (got_d >= want_d).all()
    assert index.describe()["search"] == "hnsw (approximate)"
    index.close()


def test_postgres_collection_matches_faiss_and_migrates(
    uri: str, tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
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
    db = tmp_path / "p"
    args = ["index", str(lib), "--db", str(db), "--backend", "postgres", "--postgres-uri", uri]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["collection"]["index"]["backend"] == "postgres"
    assert out["collection"]["index"]["size"] == 8
    with Collection(db) as coll:
        assert tops(coll) == want
    proc = subprocess.run(  # another process finds the committed codes and state
        [sys.executable, "-m", "lookalike", "search", str(queries[0]), "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["path"] == str(lib / queries[0].name)
    assert main(["migrate", "--db", str(db), "--to", "faiss"]) == 0
    capsys.readouterr()
    with Collection(db) as coll:
        assert coll.stats()["backend"] == "faiss" and tops(coll) == want
    assert main(["migrate", "--db", str(db), "--to", "postgres", "--postgres-uri", uri]) == 0
    capsys.readouterr()
    with Collection(db) as coll:
        assert coll.stats()["index"]["rows"] == 8 and tops(coll) == want
