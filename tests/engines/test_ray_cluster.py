"""A node lost mid-run costs only its tasks in flight: on a real two-node Ray cluster
(a head and a worker node, each its own raylet and object store, started here by
``ray.cluster_utils.Cluster``), the worker node is killed -- raylet and workers at once,
as a machine that loses power -- while it runs an extraction task after others have
finished. Ray runs the lost tasks again on the head, and the catalog ends as a clean local
run writes it, bad files reported and not fatal.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray")
pytest.importorskip("pyarrow")

from ray.cluster_utils import Cluster

from lookalike.engines.cluster import RayExecutor
from lookalike.search.collection import Collection
from lookalike.store.shards import shard_files, shard_folder

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

#: Dead nodes are noticed within about a second (Ray's default is 15 s or more).
HEALTH = {
    "health_check_period_ms": 250,
    "health_check_failure_threshold": 4,
    "health_check_initial_delay_ms": 0,
}


@pytest.fixture
def cluster() -> Iterator[tuple[Cluster, Any]]:
    """A head with one CPU and a worker node with one CPU; yields both."""
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": HEALTH})
    try:
        node = c.add_node(num_cpus=1)
        c.wait_for_nodes()
        yield c, node
    finally:
        c.shutdown()


def _running_task(raylet: int) -> int | None:
    """A worker of the node whose raylet is ``raylet`` that runs a task now, if any."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(") ", 1)[1].split()[1])
            if ppid != raylet:
                continue
            title = (stat.parent / "cmdline").read_bytes().split(b"\0")[0]
        except (OSError, IndexError, ValueError):
            continue
        if title.startswith(b"ray::_call"):
            return int(stat.parent.name)
    return None


def _finished_work(db: Path) -> bool:
    """Whether a task has finished: its shard is written, or its records committed."""
    if shard_files(shard_folder(db)):
        return True
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)
        try:
            return con.execute("SELECT count(*) FROM features").fetchone()[0] > 0
        finally:
            con.close()
    except sqlite3.Error:  # not made yet, or locked by the writer just now
        return False


def _kill_node_when_busy(
    cluster: Cluster, node: Any, db: Path, killed: list[str], stop: threading.Event
) -> None:
    """Remove ``node`` (SIGKILL of its raylet and workers) once the run has finished
    work -- a shard written or a chunk committed -- and the node runs a task."""
    raylet = node.all_processes["raylet"][0].process.pid
    while not stop.is_set():
        if _finished_work(db) and _running_task(raylet) is not None:
            cluster.remove_node(node, allow_graceful=False)
            killed.append(f"node with raylet {raylet}")
            return
        time.sleep(0.005)


def test_a_node_killed_mid_index_loses_no_finished_work(
    cluster: tuple[Cluster, Any], photo_folder: Path, tmp_path: Path, catalog_rows
) -> None:
    head, node = cluster
    coll = tmp_path / "coll"
    db = coll / "catalog.sqlite"
    killed: list[str] = []
    stop = threading.Event()
    killer = threading.Thread(
        target=_kill_node_when_busy, args=(head, node, db, killed, stop), daemon=True
    )
    with RayExecutor(address=head.address) as ray_engine:
        assert ray_engine.workers == 2  # both nodes' CPUs
        killer.start()
        try:
            with Collection(coll, create=True) as c:
                stats = c.update([photo_folder], executor=ray_engine)
        finally:
            stop.set()
            killer.join()
        assert killed, "the worker node was never seen running a task after work finished"
        deadline = time.monotonic() + 20
        while ray_engine.workers != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ray_engine.workers == 1  # the node is gone for Ray too: the head alone

    files = len(list(photo_folder.iterdir()))
    # notes.png is named by the scan, never decoded
    assert (stats.scanned, stats.cached, stats.computed) == (files, 0, files - 1)
    assert stats.images == files - 2
    assert {Path(e.path).name for e in stats.errors} == {"坏的.jpg", "notes.png"}  # named
    assert not shard_files(shard_folder(db))  # every shard committed

    clean = tmp_path / "clean"
    with Collection(clean, create=True) as c:
        c.update([photo_folder], jobs=2)
    assert catalog_rows(db) == catalog_rows(clean / "catalog.sqlite")
