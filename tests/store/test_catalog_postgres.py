"""The catalog in PostgreSQL, on a real server (127.0.0.1): it answers every query as the
SQLite catalog does for the same files, several writers share it at once, and
``lookalike dupes --cache postgresql://...`` runs from it, a second user decoding nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.errors import CollectionError
from lookalike.features.cache import cached_features
from lookalike.methods import get_method
from lookalike.sources.folders import Entry, scan
from lookalike.store.catalog import Catalog, open_catalog
from lookalike.store.catalog_postgres import PostgresCatalog

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """The samples under a Chinese folder name, a resized copy, a zip, and a broken JPEG."""
    root = tmp_path / "照片 库"
    root.mkdir()
    for p in sorted(SAMPLES.glob("*.jpg")):
        shutil.copy(p, root / f"图-{p.name}")
    from PIL import Image

    first = sorted(root.iterdir())[0]
    Image.open(first).resize((240, 160)).save(root / "小图.jpg", quality=80)
    with zipfile.ZipFile(root / "相册.zip", "w") as z:
        z.write(first, "内/一.jpg")
    (root / "坏.jpg").write_bytes(first.read_bytes()[:300])
    return root


def _entries(root: Path) -> list[Entry]:
    return sorted((e for e in scan(root) if isinstance(e, Entry)), key=lambda e: e.path)


def test_open_catalog_picks_postgres_by_the_uri(uri: str, tmp_path: Path) -> None:
    with open_catalog(uri) as cat:
        assert isinstance(cat, PostgresCatalog) and len(cat) == 0
    with open_catalog(tmp_path / "c.sqlite") as cat:
        assert type(cat) is Catalog


def test_postgres_answers_every_query_as_sqlite_does(
    uri: str, photos: Path, tmp_path: Path
) -> None:
    methods = [get_method(n) for n in ("phash8", "color", "orb")]
    entries = _entries(photos)
    with Catalog(tmp_path / "c.sqlite") as lite, PostgresCatalog(uri) as pg:
        fs_lite, st_lite = cached_features(entries, methods, lite)
        fs_pg, st_pg = cached_features(entries, methods, pg)
        assert st_pg.computed == st_lite.computed == len(entries)
        assert fs_pg.paths == fs_lite.paths and fs_pg.failures == fs_lite.failures
        assert [f.path for f in fs_pg.failures] == [str(photos / "坏.jpg")]
        again, st = cached_features(entries, methods, pg)  # decoded nothing
        assert st.cached == len(entries) and st.computed == 0
        for m in methods[:2]:
            assert np.array_equal(again.features[m.name], fs_lite.features[m.name])
        assert [a.to_bytes() for a in again.features["orb"]] == [
            b.to_bytes() for b in fs_lite.features["orb"]
        ]

        paths = [e.path for e in entries]
        assert pg.digests(paths) == lite.digests(paths)
        ids_pg, ids_lite = pg.ids_of(paths), lite.ids_of(paths)
        assert ids_pg.keys() == ids_lite.keys()
        key = next(k for k in _keys(lite) if k.startswith("phash8"))
        _, codec_pg, blobs_pg = pg.feature_rows(key)
        _, codec_lite, blobs_lite = lite.feature_rows(key)
        assert codec_pg == codec_lite and np.array_equal(blobs_pg, blobs_lite)
        assert pg.feature_counts(key) == lite.feature_counts(key) == (len(paths) - 1, 1)
        assert len(pg.feature_ids(key)[0]) == len(paths) - 1
        by_path_pg = {p: r for p, r in _files(pg, ids_pg).items()}
        by_path_lite = {p: r for p, r in _files(lite, ids_lite).items()}
        assert by_path_pg == by_path_lite
        arrays_pg = pg.feature_arrays(list(ids_pg.values()), [key])
        assert len(arrays_pg) == len(paths) - 1
        assert sorted(pg.paths_under([str(photos / "相册.zip")])) == sorted(
            lite.paths_under([str(photos / "相册.zip")])
        )
        assert len(pg.paths_under([str(photos / "相册.zip")])) == 1  # the member

        digests = sorted(pg.digests(paths[:2]).values())
        assert pg.add_mark("not-duplicates", digests, paths[:2])
        assert not pg.add_mark("not-duplicates", digests, paths[:2])  # already there
        (mark,) = pg.marks()
        assert mark.paths == tuple(paths[:2]) and mark.digests == tuple(digests)

        (photos / "小图.jpg").unlink()
        assert pg.purge(photos) == lite.purge(photos) == 1
        assert len(pg) == len(lite) == len(paths) - 1
        assert pg.remove_mark("not-duplicates", digests) == 1


def _keys(cat: Catalog) -> list[str]:
    return [r[0] for r in cat._query("SELECT DISTINCT method FROM features")]


def _files(cat: Catalog, ids: dict[str, int]) -> dict[str, tuple]:
    rows = cat.files(list(ids.values())).values()
    return {r.path: (r.archive, r.size, r.mtime_ns, r.width, r.height, r.digest) for r in rows}


def test_two_users_index_at_once_and_a_third_decodes_nothing(
    uri: str, photos: Path, tmp_path: Path
) -> None:
    """Two ``lookalike dupes`` processes write one PostgreSQL catalog at the same time
    (overlapping folders: both add the same files), then a third run finds it all."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "LOOKALIKE_CACHE": str(tmp_path)}
    cmd = [sys.executable, "-m", "lookalike", "dupes", "--cache", uri, "--json"]
    procs = [
        subprocess.Popen(
            [*cmd, str(photos)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    runs = [json.loads(out) for out, _ in outs]
    for p, (_, err), run in zip(procs, outs, runs, strict=True):
        assert p.returncode == 1, err.decode()  # 1: the broken JPEG was named
        assert [Path(e["path"]).name for e in run["errors"]] == ["坏.jpg"]
    groups = [run["groups"] for run in runs]
    assert groups[0] == groups[1] and len(groups[0]) == 1  # the resized copy, the zip member

    report = find_duplicates([photos], DupesOptions(cache=uri))
    assert report.stats["cache"]["computed"] == 0
    assert report.stats["cache"]["cached"] == len(_entries(photos))
    assert [[m.path for m in g.members] for g in report.groups] == [
        [m["path"] for m in g["members"]] for g in groups[0]
    ]
    with PostgresCatalog(uri) as pg:
        assert len(pg) == len(_entries(photos))  # each file once, whoever added it


def test_a_foreign_schema_or_an_unreachable_server_is_named(uri: str) -> None:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA lookalike")
        conn.execute("CREATE TABLE lookalike.orders (id int)")
    with pytest.raises(CollectionError, match="not a lookalike catalog"):
        PostgresCatalog(uri)
    with PostgresCatalog(uri + "?options=-csearch_path%3Dmine") as cat:  # another schema
        assert len(cat) == 0
    with psycopg.connect(uri, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM lookalike.orders").fetchone()[0] == 0

    dead = "postgresql://someone:secret@127.0.0.1:9/none"
    with pytest.raises(CollectionError) as err:
        PostgresCatalog(dead)
    assert "secret" not in str(err.value) and "someone:***@127.0.0.1:9" in str(err.value)


def test_writers_sharing_files_in_opposite_orders_never_deadlock(uri: str, photos: Path) -> None:
    """Two writers store the same 300 files at once, one in reverse order, one transaction
    each: rows are written in path order, so neither waits on a lock the other holds while
    holding one it needs (PostgreSQL would end one with "deadlock detected")."""
    import threading

    from lookalike.store.catalog import Record

    first = _entries(photos)[:1]
    with PostgresCatalog(uri) as pg:
        cached_features(first, [get_method("phash8")], pg)
        (key,) = _keys(pg)
        (features,) = pg.lookup(first, [key])[0].values()
    recs = [
        Record(Entry(f"/共享/{i:04d}.jpg", 1000 + i, 10**18 + i), features, b"%016d" % i)
        for i in range(300)
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def write(order: list[Record]) -> None:
        with PostgresCatalog(uri) as cat:
            barrier.wait()
            try:
                cat.store(order)
            except BaseException as exc:
                errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(recs,)),
        threading.Thread(target=write, args=(recs[::-1],)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with PostgresCatalog(uri) as pg:
        cached, missing = pg.lookup([r.entry for r in recs], [key])
        assert len(cached) == 300 and not missing
