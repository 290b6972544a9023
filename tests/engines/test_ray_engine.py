"""The Ray engine gives what the local process pool gives, and a killed run loses no
finished work: rerun, it commits the shards the dead run left and computes only the rest.

One Ray (2 CPUs, started here) serves the module; the killed run is a real ``lookalike
index --engine ray`` process, ended with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytest.importorskip("pyarrow")

from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.engines.cluster import RayExecutor
from lookalike.features import extract_features
from lookalike.match.verify import verify_pairs
from lookalike.methods import get_method
from lookalike.search.collection import Collection
from lookalike.store.shards import read_shard, shard_files, shard_folder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_engine() -> Iterator[RayExecutor]:
    with RayExecutor(jobs=2) as ex:
        yield ex


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ray_dupes_give_the_local_groups_and_catalog_though_a_worker_dies(
    photo_folder: Path, tmp_path: Path, ray_engine: RayExecutor, catalog_rows
) -> None:
    # Without the keypoint layer, to keep this short (verification has its own test).
    layers = ("phash8", "color", "content")
    local = find_duplicates(
        [photo_folder], DupesOptions(layers, jobs=2, cache=str(tmp_path / "l.sqlite"))
    )
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_a_busy_worker, args=(killed, stop), daemon=True)
    killer.start()
    try:
        ray = find_duplicates(
            [photo_folder],
            DupesOptions(layers, cache=str(tmp_path / "r.sqlite")),
            executor=ray_engine,
        )
    finally:
        stop.set()
        killer.join()
    assert killed, "no Ray worker was seen at work"  # Ray ran its task again
    assert len(local.groups) >= 8
    assert ray.groups == local.groups
    assert ray.pairs == local.pairs
    assert sorted(ray.errors, key=str) == sorted(local.errors, key=str)
    bad = {Path(f.path).name for f in ray.errors}
    assert bad == {"坏的.jpg", "notes.png"}  # reported, not fatal
    assert catalog_rows(tmp_path / "r.sqlite") == catalog_rows(tmp_path / "l.sqlite")
    assert not (tmp_path / "r.shards").exists()  # every shard committed, then removed


def test_ray_features_and_verification_equal_local(
    photo_folder: Path, ray_engine: RayExecutor
) -> None:
    paths = sorted(str(p) for p in photo_folder.glob("图0[0-2]-*.jpg"))
    methods = [get_method("phash"), get_method("color"), get_method("orb")]
    here = extract_features(paths, methods, jobs=1)
    there = extract_features(paths, methods, executor=ray_engine)
    assert there.paths == here.paths
    for m in methods[:2]:
        assert (there.features[m.name] == here.features[m.name]).all()
    orb = methods[2]
    pairs = [(a, b) for a in range(len(here)) for b in range(a + 1, len(here))][:40]
    local = verify_pairs(orb, here.features["orb"], pairs, jobs=1)
    remote = verify_pairs(orb, here.features["orb"], pairs, executor=ray_engine)
    assert remote == local


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), from /proc."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parent[int(d.name)] = int(stat.rsplit(") ", 1)[1].split()[1])
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def _kill_a_busy_worker(killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the first Ray worker of this test process seen running a task."""
    while not stop.is_set():
        for pid in _descendants(os.getpid()):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if title.startswith(b"ray::_call"):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.01)


def _session_pids(sid: int) -> list[int]:
    """Processes of the session ``sid`` (the killed command and the Ray it started)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if os.getsid(int(d.name)) == sid:
                    pids.append(int(d.name))
            except OSError:
                continue
    return pids


def _finished(db: Path) -> set[str]:
    """Paths a killed run had finished: committed to the catalog, or in a shard."""
    done = set()
    if db.exists():
        con = sqlite3.connect(db)
        try:
            rows = con.execute(
                "SELECT DISTINCT f.path FROM files f JOIN features x ON x.file_id = f.id"
            )
            done = {bytes(r[0]).decode("utf-8", "surrogateescape") for r in rows}
        except sqlite3.OperationalError:  # killed before the tables were made
            done = set()
        finally:
            con.close()
    for shard in shard_files(shard_folder(db)):
        try:
            done |= {r.entry.path for r in read_shard(shard)}
        except OSError:  # committed and removed meanwhile: the catalog has it
            continue
    return done


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def _index_killed_at_first_work(photo_folder: Path, coll: Path) -> set[str]:
    """Run ``lookalike index --engine ray`` into ``coll``, SIGKILL it (and the Ray it
    started) as soon as some work is finished; the paths that were finished."""
    db = coll / "catalog.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "lookalike", "index", str(photo_folder), "--db", str(coll)]
    proc = subprocess.Popen(
        [*cmd, "--engine", "ray", "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not _finished(db):
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for pid in _session_pids(proc.pid):  # its Ray: workers may not outlive it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return _finished(db)


def test_killed_ray_index_loses_no_finished_work(
    photo_folder: Path, tmp_path: Path, ray_engine: RayExecutor, catalog_rows
) -> None:
    total = len(list(photo_folder.iterdir()))
    images = total - 1  # notes.png is no picture: the scan reports it, nothing decodes it
    # On a loaded machine the first finished work seen may already be all of it (the
    # driver was only writing its index): such a run proves nothing, and is run again.
    for attempt in range(3):
        coll = tmp_path / f"coll{attempt}"
        db = coll / "catalog.sqlite"
        finished = _index_killed_at_first_work(photo_folder, coll)
        if len(finished) < images:
            break
    assert 0 < len(finished) < images

    with Collection(coll) as c:
        stats = c.update([photo_folder], executor=ray_engine)
    assert stats.cached == len(finished)  # committed, or resumed from the shards
    assert stats.computed == images - len(finished)
    assert not shard_files(coll / "catalog.shards")  # all committed (a killed writer's
    # temporary file may stay until it is an hour old)

    clean = tmp_path / "clean"
    with Collection(clean, create=True) as c:
        c.update([photo_folder], jobs=2)
        indexed = c.stats()["images"]
    assert catalog_rows(db) == catalog_rows(clean / "catalog.sqlite")
    with Collection(coll) as c:
        assert c.stats()["images"] == indexed == images - 1  # less the truncated JPEG


def test_shards_a_dead_driver_left_are_committed_not_recomputed(
    photo_folder: Path, tmp_path: Path, ray_engine: RayExecutor, catalog_rows
) -> None:
    from lookalike.features import decode_plan
    from lookalike.features.cache import _compute_shard, cached_features, method_key
    from lookalike.match.engine import layer_methods
    from lookalike.sources.folders import Entry, scan
    from lookalike.store.catalog import Catalog

    entries = sorted((e for e in scan([photo_folder]) if isinstance(e, Entry)), key=str)
    methods = layer_methods(("phash8", "color"))
    plan = decode_plan(methods)
    keys = [method_key(m, plan=plan) for m in methods]
    db = tmp_path / "catalog.sqlite"
    # What two workers wrote before their driver died: shards, nothing committed.
    done, changed = entries[:20], entries[20]
    _compute_shard(done, methods, False, keys, str(shard_folder(db)))
    _compute_shard([changed], methods, False, keys, str(shard_folder(db)))
    os.utime(changed.path, ns=(changed.mtime_ns + 10**9, changed.mtime_ns + 10**9))
    entries = sorted((e for e in scan([photo_folder]) if isinstance(e, Entry)), key=str)

    with Catalog(db) as cat:
        fs, stats = cached_features(entries, methods, cat, executor=ray_engine)
    assert stats.resumed == stats.cached == len(done)  # the changed file is not trusted
    assert stats.computed == len(entries) - len(done)
    assert not shard_files(shard_folder(db))
    with Catalog(tmp_path / "local.sqlite") as cat:
        local, _ = cached_features(entries, methods, cat, jobs=2)
    assert fs.paths == local.paths and fs.failures == local.failures
    assert catalog_rows(db) == catalog_rows(tmp_path / "local.sqlite")
