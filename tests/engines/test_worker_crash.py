"""A file that crashes the decoder's process costs that file only: it is named, with the
reason, and every other file is computed (local worker pool and Ray)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from crashing_decoder import POISON_SIZE, CrashingPHash
from PIL import Image

from lookalike.engines.local import LocalExecutor
from lookalike.errors import WORKER_DIED, Failure, WorkerDied
from lookalike.features import _run_chunk, decode_plan, extract_features
from lookalike.features.cache import cached_features, method_key
from lookalike.methods import get_method
from lookalike.sources.folders import Entry, scan
from lookalike.store.catalog import Catalog, Record

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGSEGV is POSIX")


@pytest.fixture
def folder(sample_photos: list[Path], tmp_path: Path) -> Path:
    """The samples, twice, and two pictures of the poison size (PNG, so decoded as is)."""
    out = tmp_path / "照片"
    out.mkdir()
    for k in range(2):
        for p in sample_photos:
            shutil.copy(p, out / f"{k}-{p.name}")
    for k, p in enumerate(sample_photos[:2]):
        Image.open(p).convert("RGB").resize(POISON_SIZE).save(out / f"坏{k}.png")
    return out


def _entries(folder: Path) -> list[Entry]:
    return [e for e in scan([str(folder)]) if isinstance(e, Entry)]


def test_a_crashing_file_fails_alone_in_the_local_pool(folder: Path) -> None:
    paths = sorted(str(p) for p in folder.iterdir())
    method = CrashingPHash()
    fs = extract_features(paths, [method], executor=LocalExecutor(2))
    crashed = sorted(Path(f.path).name for f in fs.failures)
    assert crashed == ["坏0.png", "坏1.png"]
    assert all("worker process died" in f.reason for f in fs.failures)
    assert len(fs.paths) == len(paths) - 2 == len(fs.features["phash"])
    # the computed files have the values the plain method gives
    plain = extract_features(fs.paths, [get_method("phash")], jobs=1)
    assert (fs.features["phash"] == plain.features["phash"]).all()


def test_without_a_way_to_split_a_crash_is_a_clear_error(folder: Path) -> None:
    plan = decode_plan([CrashingPHash()])
    calls = [([str(p)], [CrashingPHash()], plan) for p in sorted(folder.iterdir())]
    with pytest.raises(WorkerDied, match="worker process died"):
        list(LocalExecutor(2).map(_run_chunk, calls))


def test_the_cache_stores_the_others_and_names_the_crash(folder: Path, tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as cat:
        fs, stats = cached_features(_entries(folder), [CrashingPHash()], cat, jobs=2)
        assert sorted(Path(f.path).name for f in fs.failures) == ["坏0.png", "坏1.png"]
        assert stats.computed == len(_entries(folder))
        assert len(fs.paths) == len(_entries(folder)) - 2
        # not stored: a death may be the moment's (the machine killed the worker), so
        # the next run tries those two again, and only those
        again, stats = cached_features(_entries(folder), [CrashingPHash()], cat, jobs=2)
        assert stats.computed == 2 and stats.cached == len(_entries(folder)) - 2
        assert [f.reason for f in again.failures] == [f.reason for f in fs.failures]


def test_a_death_stored_by_an_earlier_version_is_tried_again(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    """A catalog that holds a worker's death for a good file (stored before deaths were
    kept out) computes that file again instead of failing it forever."""
    entries = _entries(sample_photos[0].parent)
    method = get_method("phash")
    with Catalog(tmp_path / "old.sqlite") as cat:
        cached_features(entries, [method], cat, jobs=1)
        key = method_key(method, plan=decode_plan([method]))
        cat.store([Record(entries[0], {key: Failure(entries[0].path, WORKER_DIED)}, b"x", 1, 1)])
        fs, stats = cached_features(entries, [method], cat, jobs=1)
    assert fs.failures == [] and len(fs.paths) == len(entries)
    assert stats.computed == 1


def test_a_crashing_file_fails_alone_on_ray(folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    pytest.importorskip("pyarrow")
    import crashing_decoder
    from ray import cloudpickle

    from lookalike.engines.cluster import RayExecutor

    # Ray's workers do not share the tests' sys.path: send the method's class by value
    cloudpickle.register_pickle_by_value(crashing_decoder)
    try:
        with RayExecutor(jobs=2) as ray, Catalog(tmp_path / "r.sqlite") as cat:
            fs, _ = cached_features(_entries(folder), [CrashingPHash()], cat, executor=ray)
    finally:
        cloudpickle.unregister_pickle_by_value(crashing_decoder)
    assert sorted(Path(f.path).name for f in fs.failures) == ["坏0.png", "坏1.png"]
    assert all("worker process died" in f.reason for f in fs.failures)
    assert len(fs.paths) == len(_entries(folder)) - 2
