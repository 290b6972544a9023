"""The feature catalog: cached runs decode nothing, changes are seen, crashes lose a chunk."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lookalike.errors import CollectionError, Failure
from lookalike.features import cache as cache_module
from lookalike.features import extract_features
from lookalike.features.cache import cached_features, method_key
from lookalike.methods import get_method
from lookalike.sources.folders import MEMBER_SEP, Entry, scan
from lookalike.store.catalog import (
    SCHEMA_VERSION,
    Catalog,
    Record,
    default_path,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
from corpus import CORPUS as SHARED  # noqa: E402

CORPUS = SHARED / "photos"
NAMES = ("aspect", "phash", "color")


def _methods(**phash: Any) -> list[Any]:
    return [get_method(n, **(phash if n == "phash" else {})) for n in NAMES]


def _entries(root: Path) -> list[Entry]:
    return [e for e in scan(root) if isinstance(e, Entry)]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for p in sorted(SAMPLES.glob("*.jpg")):
        shutil.copy(p, root / p.name)
    return root


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the files handed to extract_features by the catalog."""
    seen: list[int] = []

    def counting(sources: Any, methods: Any, **kw: Any) -> Any:
        seen.append(len(sources))
        return extract_features(sources, methods, **kw)

    monkeypatch.setattr(cache_module, "extract_features", counting)
    return seen


def _same(a: Any, b: Any) -> None:
    assert a.paths == b.paths
    assert a.failures == b.failures
    assert set(a.features) == set(b.features)
    for name in a.features:
        assert np.array_equal(a.features[name], b.features[name]), name
        assert a.features[name].dtype == b.features[name].dtype


def test_second_run_computes_nothing(photos: Path, tmp_path: Path, calls: list[int]) -> None:
    entries = _entries(photos)
    with Catalog(tmp_path / "cat.sqlite") as cat:
        first, s1 = cached_features(entries, _methods(), cat)
        assert (s1.cached, s1.computed, s1.failed) == (0, len(entries), 0)
        assert sum(calls) == len(entries)
        second, s2 = cached_features(entries, _methods(), cat)
        assert (s2.cached, s2.computed) == (len(entries), 0)
        assert sum(calls) == len(entries)  # no new call
        assert len(cat) == len(entries)
    # the same as computing directly from the paths, in the entries' order
    direct = extract_features([e.path for e in entries], _methods())
    _same(first, direct)
    _same(second, direct)


def test_new_options_are_cached_apart(photos: Path, tmp_path: Path, calls: list[int]) -> None:
    entries = _entries(photos)
    assert method_key(get_method("phash")) != method_key(get_method("phash", hash_size=16))
    assert method_key(get_method("phash"), exact=True).endswith(":raw")
    with Catalog(tmp_path / "cat.sqlite") as cat:
        cached_features(entries, _methods(), cat)
        fs, st = cached_features(entries, _methods(hash_size=16), cat)
        assert st.computed == len(entries)
        assert fs.features["phash"].shape == (len(entries), 32)
        _, st = cached_features(entries, _methods(), cat)
        assert st.computed == 0
        # alone, phash is decoded otherwise (greyscale): cached apart, equal to a fresh run
        alone, st = cached_features(entries, [get_method("phash")], cat)
        assert st.computed == len(entries)
        _same(alone, extract_features([e.path for e in entries], [get_method("phash")]))


def test_changed_file_is_recomputed(photos: Path, tmp_path: Path, calls: list[int]) -> None:
    with Catalog(tmp_path / "cat.sqlite") as cat:
        cached_features(_entries(photos), _methods(), cat)
        names = sorted(p.name for p in photos.iterdir())
        touched, other = photos / names[0], photos / names[1]
        os.utime(touched, ns=(time.time_ns(), touched.stat().st_mtime_ns + 10**9))
        _, st = cached_features(_entries(photos), _methods(), cat)
        assert (st.computed, st.cached) == (1, len(names) - 1)
        # new content under the old name: the new features, the new digest
        shutil.copy(other, touched)
        os.utime(touched, ns=(time.time_ns(), touched.stat().st_mtime_ns + 2 * 10**9))
        fs, st = cached_features(_entries(photos), _methods(), cat)
        assert st.computed == 1
        i, j = fs.paths.index(str(touched)), fs.paths.index(str(other))
        assert np.array_equal(fs.features["phash"][i], fs.features["phash"][j])
        digests = cat.digests([str(touched), str(other)])
        assert digests[str(touched)] == digests[str(other)]


def test_failures_are_cached_until_the_file_changes(
    photos: Path, tmp_path: Path, calls: list[int]
) -> None:
    good = sorted(photos.iterdir())[0].read_bytes()
    corrupt = photos / "corrupt.jpg"
    corrupt.write_bytes(good[: len(good) // 3])  # truncated JPEG: sniffed, fails to decode
    with Catalog(tmp_path / "cat.sqlite") as cat:
        fs, st = cached_features(_entries(photos), _methods(), cat)
        assert [f.path for f in fs.failures] == [str(corrupt)]
        assert st.failed == 1 and str(corrupt) not in fs.paths
        reason = fs.failures[0].reason
        again, st = cached_features(_entries(photos), _methods(), cat)
        assert st.computed == 0 and again.failures == [Failure(str(corrupt), reason)]
        corrupt.write_bytes(good)
        os.utime(corrupt, ns=(time.time_ns(), corrupt.stat().st_mtime_ns + 10**9))
        fixed, st = cached_features(_entries(photos), _methods(), cat)
        assert st.computed == 1 and fixed.failures == [] and str(corrupt) in fixed.paths


def test_read_errors_are_reported_not_cached(photos: Path, tmp_path: Path) -> None:
    entries = _entries(photos)
    gone = entries[2]
    os.remove(gone.path)
    with Catalog(tmp_path / "cat.sqlite") as cat:
        fs, st = cached_features(entries, _methods(), cat)
        assert [f.path for f in fs.failures] == [gone.path] and st.failed == 1
        assert "cannot read" in fs.failures[0].reason
        assert len(cat) == len(entries) - 1


def test_zip_members_are_cached(photos: Path, tmp_path: Path, calls: list[int]) -> None:
    archive = tmp_path / "album.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(photos.iterdir())[:3]:
            zf.write(p, f"2019/{p.name}")
    entries = _entries(archive)
    assert len(entries) == 3 and all("!//2019/" in e.path for e in entries)
    with Catalog(tmp_path / "cat.sqlite") as cat:
        fs, st = cached_features(entries, _methods(), cat)
        assert fs.paths == [e.path for e in entries] and st.computed == 3
        _, st = cached_features(_entries(archive), _methods(), cat)
        assert st.computed == 0
        os.utime(archive, ns=(time.time_ns(), archive.stat().st_mtime_ns + 10**9))
        _, st = cached_features(_entries(archive), _methods(), cat)
        assert st.computed == 3
        archive.unlink()
        assert cat.purge(tmp_path) == 3


def test_purge_forgets_removed_files(photos: Path, tmp_path: Path) -> None:
    entries = _entries(photos)
    with Catalog(tmp_path / "cat.sqlite") as cat:
        cached_features(entries, _methods(), cat)
        os.remove(entries[0].path)
        assert cat.purge(tmp_path / "elsewhere") == 0
        assert cat.purge(photos) == 1
        assert len(cat) == len(entries) - 1
        assert cat.purge() == 0


def test_pair_features_round_trip(photos: Path, tmp_path: Path) -> None:
    local = pytest.importorskip("lookalike.methods.local")
    from PIL import Image

    entry = _entries(photos)[0]
    feats = local.extract_local(np.asarray(Image.open(entry.path).convert("L")))
    with Catalog(tmp_path / "cat.sqlite") as cat:
        cat.store([Record(entry, {"orb:test": feats, "phash:test": np.arange(8, dtype=np.uint8)})])
        cached, missing = cat.lookup([entry], ["orb:test", "phash:test"])
    assert missing == []
    back = cached[entry.path]["orb:test"]
    assert isinstance(back, local.LocalFeatures)
    assert np.array_equal(back.descriptors, feats.descriptors)
    assert np.array_equal(back.keypoints, feats.keypoints)
    assert back.shape == feats.shape and back.detector == feats.detector


def test_corrupt_catalog_is_reported_or_rebuilt(photos: Path, tmp_path: Path) -> None:
    path = tmp_path / "cat.sqlite"
    path.write_bytes(b"this is not a database, just some bytes " * 100)
    with pytest.raises(CollectionError, match="unreadable catalog") as info:
        Catalog(path)
    assert str(path) in str(info.value) and "rebuild" in str(info.value)
    with Catalog(path, rebuild=True) as cat:
        _, st = cached_features(_entries(photos), _methods(), cat)
        assert st.computed == len(cat) > 0


def test_foreign_newer_and_older_catalogs(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    db.close()
    before = foreign.read_bytes()
    with pytest.raises(CollectionError, match="not a lookalike catalog"):
        Catalog(foreign, rebuild=True)
    assert foreign.read_bytes() == before  # someone else's data is never discarded

    path = tmp_path / "cat.sqlite"
    Catalog(path).close()

    def set_version(v: int) -> None:
        with sqlite3.connect(path) as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(v),))
        db.close()

    set_version(SCHEMA_VERSION + 1)
    with pytest.raises(CollectionError, match="newer lookalike"):
        Catalog(path)
    set_version(SCHEMA_VERSION - 1)
    with Catalog(path) as cat:  # an older cache is simply rebuilt
        assert len(cat) == 0
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert row == (str(SCHEMA_VERSION),)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LOOKALIKE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform not in ("win32", "darwin"):
        assert default_path() == tmp_path / "xdg" / "lookalike" / "catalog.sqlite"
    monkeypatch.setenv("LOOKALIKE_CACHE", str(tmp_path / "mine"))
    assert default_path() == tmp_path / "mine" / "catalog.sqlite"
    with Catalog() as cat:
        assert cat.path == tmp_path / "mine" / "catalog.sqlite" and cat.path.exists()


_WORKER = textwrap.dedent(
    """
    import sys, time
    from lookalike.methods import get_method
    from lookalike.sources.folders import Entry, scan
    from lookalike.features.cache import cached_features
    from lookalike.store.catalog import Catalog

    entries = [e for e in scan(sys.argv[1]) if isinstance(e, Entry)]
    with Catalog(sys.argv[2]) as cat:
        cached_features(
            entries, [get_method("phash")], cat, chunk=8, progress=lambda *_: time.sleep(0.3)
        )
    print("finished")
    """
)


def test_kill_9_loses_at_most_one_chunk_and_the_next_run_resumes(
    photos: Path, tmp_path: Path
) -> None:
    for k in range(1, 5):  # 40 files, five chunks of 8
        for p in sorted(photos.glob("*.jpg"))[:8]:
            shutil.copy(p, photos / f"copy{k}_{p.name}")
    n = len(_entries(photos))
    assert n == 40
    path = tmp_path / "cat.sqlite"
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(photos), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stored = 0
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists():
                try:
                    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
                        stored = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
                    db.close()
                except sqlite3.Error:
                    stored = 0  # the schema is being created
            if stored >= 16:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None and stored < 16:
            proc.kill()
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")

    with Catalog(path) as cat:
        kept = len(cat)
        assert kept % 8 == 0 and 16 <= kept < n  # whole chunks only
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.close()
        fs, st = cached_features(_entries(photos), [get_method("phash")], cat, chunk=8)
        assert (st.cached, st.computed) == (kept, n - kept)
        assert len(fs) == n and len(cat) == n


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus ../shared/corpus absent")
def test_corpus_second_run_is_served_from_the_catalog(tmp_path: Path, calls: list[int]) -> None:
    entries = _entries(CORPUS)
    methods = [get_method(n) for n in ("phash", "dhash", "color")]
    with Catalog(tmp_path / "cat.sqlite") as cat:
        first, s1 = cached_features(entries, methods, cat, jobs=2)
        second, s2 = cached_features(entries, methods, cat, jobs=2)
    assert s1.computed == len(entries) and s2.computed == 0 and s2.cached == len(entries)
    assert sum(calls) == len(entries)
    _same(first, second)


def test_version_1_catalog_is_migrated_not_dropped(tmp_path: Path) -> None:
    """A v1 catalog gains ctime_ns and the collision-free member separator, keeping rows."""
    path = tmp_path / "v1.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE files (id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE,
                archive BLOB, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                width INTEGER, height INTEGER, digest BLOB, updated_ns INTEGER NOT NULL);
            CREATE TABLE features (file_id INTEGER NOT NULL, method TEXT NOT NULL,
                codec TEXT, data BLOB, error TEXT, PRIMARY KEY (file_id, method))
                WITHOUT ROWID;
            INSERT INTO meta VALUES ('app', 'lookalike-catalog'), ('schema_version', '1');
            """
        )
        db.execute(
            "INSERT INTO files (path, archive, size, mtime_ns, updated_ns) VALUES (?, ?, 1, 1, 1)",
            ("/p/x.zip!/a/照片.jpg".encode(), b"/p/x.zip"),
        )
        db.execute(
            "INSERT INTO files (path, size, mtime_ns, updated_ns) VALUES (?, 1, 1, 1)",
            (b"/p/x.zip!/a/real.jpg",),  # a real folder named "x.zip!": left as it is
        )
    db.close()
    with Catalog(path) as cat:
        assert len(cat) == 2
    with sqlite3.connect(path) as db:
        paths = sorted(bytes(r[0]).decode() for r in db.execute("SELECT path FROM files"))
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        columns = {r[1] for r in db.execute("PRAGMA table_info(files)")}
    db.close()
    assert paths == ["/p/x.zip!//a/照片.jpg", "/p/x.zip!/a/real.jpg"]
    assert version == (str(SCHEMA_VERSION),) and "ctime_ns" in columns


# -- the read-only queries a collection asks (Catalog.feature_ids ... paths_under) ------------


def _filled(tmp_path: Path, n: int = 1200) -> tuple[Catalog, list[str]]:
    """A catalog of ``n`` synthetic files (more than one IN batch): every third one failed
    'code', the rest hold an 8-byte code ``[i, i, ...]``; every file holds a 'vec' row."""
    cat = Catalog(tmp_path / "c.sqlite")
    root = str(tmp_path / "lib")
    paths = [f"{root}/d{i % 3}/f{i:04d}.jpg" for i in range(n)]
    records = [
        Record(
            Entry(p, 100 + i, 1000 + i),
            {
                "code": Failure(p, "broken") if i % 3 == 0 else np.full(8, i % 256, np.uint8),
                "vec": np.arange(3, dtype=np.float32) + i,
            },
            digest=i.to_bytes(16, "big"),
            width=10 + i,
            height=None,
        )
        for i, p in enumerate(paths)
    ]
    cat.store(records)
    return cat, paths


def test_feature_ids_rows_and_counts(tmp_path: Path) -> None:
    cat, paths = _filled(tmp_path)
    with cat:
        ids_by_path = cat.ids_of(paths)
        assert len(ids_by_path) == len(paths)
        good = sorted(ids_by_path[p] for i, p in enumerate(paths) if i % 3)
        ids, ns = cat.feature_ids("code")
        assert ids.dtype == np.int64 and ids.tolist() == good and len(ns) == len(ids)
        some = [*good[::7], 10**9]  # an unknown id is left out
        assert cat.feature_ids("code", some)[0].tolist() == good[::7]
        fids, codec, blobs = cat.feature_rows("code")
        assert fids.tolist() == good and codec == "nd:|u1:8" and blobs.shape == (len(good), 8)
        index = {v: k for k, v in ids_by_path.items()}
        for fid, row in zip(fids, blobs, strict=True):
            i = paths.index(index[int(fid)])
            assert (row == i % 256).all()
        sub_ids, _, sub = cat.feature_rows("code", list(reversed(good[:600])))
        assert sub_ids.tolist() == good[:600] and np.array_equal(sub, blobs[:600])
        empty_ids, empty_codec, empty = cat.feature_rows("nothing")
        assert len(empty_ids) == 0 and empty_codec is None and empty.shape[0] == 0
        assert cat.feature_counts("code") == (len(good), len(paths) - len(good))
        assert cat.feature_counts("nothing") == (0, 0)


def test_mixed_encodings_are_refused(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.store(
            [
                Record(Entry("/a.jpg", 1, 1), {"code": np.zeros(8, np.uint8)}),
                Record(Entry("/b.jpg", 1, 1), {"code": np.zeros(4, np.uint16)}),
            ]
        )
        with pytest.raises(CollectionError, match="mixed encodings"):
            cat.feature_rows("code")


def test_feature_arrays_files_and_paths(tmp_path: Path) -> None:
    cat, paths = _filled(tmp_path)
    with cat:
        ids = [cat.ids_of([p])[p] for p in paths[:4]]
        arrays = cat.feature_arrays(ids, ["code", "vec"])
        assert set(arrays[ids[0]]) == {"vec"}  # the failed code is left out
        assert np.array_equal(arrays[ids[1]]["code"], np.full(8, 1, np.uint8))
        assert np.array_equal(arrays[ids[2]]["vec"], np.arange(3, dtype=np.float32) + 2)
        assert cat.feature_arrays(ids, []) == {}
        rows = cat.files([*ids, 10**9])
        assert set(rows) == set(ids)
        r = rows[ids[2]]
        assert (r.path, r.archive, r.size, r.mtime_ns, r.width, r.height) == (
            paths[2],
            None,
            102,
            1002,
            12,
            None,
        )
        assert r.digest == (2).to_bytes(16, "big") and r.entry().path == paths[2]
        assert cat.paths_of([*ids, 10**9]) == dict(zip(ids, paths[:4], strict=True))
        assert cat.ids_of(["/nowhere.jpg"]) == {}


def test_paths_under_folders_and_archives(tmp_path: Path) -> None:
    lib = str(tmp_path / "lib")
    zip_path = f"{lib}/a.zip"
    member = zip_path + MEMBER_SEP + "in/x.jpg"
    names = [f"{lib}/a.jpg", f"{lib}/sub/b.jpg", f"{lib}x/c.jpg", member, f"{lib}/a.zipper.jpg"]
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.store(
            Record(Entry(p, 1, 1, archive=zip_path if p == member else None), {}) for p in names
        )
        assert sorted(cat.paths_under([lib])) == sorted(set(names) - {f"{lib}x/c.jpg"})
        assert cat.paths_under([lib + "/"]) == cat.paths_under([lib])
        assert cat.paths_under([zip_path]) == [member]  # not a.zipper.jpg
        assert cat.paths_under([f"{lib}/a.jpg", f"{lib}/sub"]) == [
            f"{lib}/a.jpg",
            f"{lib}/sub/b.jpg",
        ]
        (row,) = cat.files(list(cat.ids_of([member]).values())).values()
        entry = row.entry()
        assert (entry.archive, entry.member) == (zip_path, "in/x.jpg")
