"""The Ray engine beside the local process pool: `lookalike index` on the same folder.

    python bench/engine_speed.py [--photos DIR] [--copies 4] [--jobs 2] [--rounds 2]

The folder (bench/out/engine-photos) holds ``--copies`` copies of the real photos of
../shared/corpus/photos (originals and variants, long side <= 1,600 px), each copy in
its own sub-folder, so every file is decoded (the catalog is keyed by path); ``--photos``
takes another folder as it is. Needs the ``ray`` extra.

Each round runs, in a fresh process and into a fresh collection, ``lookalike index``
with the local engine (``--jobs`` worker processes) and then with ``--engine ray
--jobs N`` (a Ray started on this machine with N CPUs); the rounds interleave the two
and the best round of each is kept (the machine is noisy). Printed per engine: images/s
of the update itself (scan, decode, features, catalog commits: the steady state a long
run sees), images/s of the whole command (Ray's start-up included: what a short run
sees), and Ray's figures as a ratio of local's. Last, the catalogs of the two engines
are compared row by row (paths, sizes, times, digests, every feature blob and failure):
they must be identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "photos"


def build(folder: Path, copies: int) -> Path:
    """``copies`` copies of the corpus photos under ``folder`` (kept between runs)."""
    photos = sorted(CORPUS.glob("*/*.jpg"))
    if not photos:
        sys.exit(f"no photos under {CORPUS}: pass --photos DIR")
    for k in range(copies):
        sub = folder / f"copy{k}"
        if sub.is_dir() and len(list(sub.iterdir())) == len(photos):
            continue
        sub.mkdir(parents=True, exist_ok=True)
        for p in photos:
            shutil.copyfile(p, sub / f"{p.parent.name}-{p.name}")
    return folder


def index(folder: Path, db: Path, engine: str, jobs: int) -> tuple[float, float, int]:
    """Run `lookalike index`; (update seconds, command seconds, files computed)."""
    cmd = [sys.executable, "-m", "lookalike", "index", str(folder), "--db", str(db)]
    cmd += ["--jobs", str(jobs), "--json"]
    if engine != "local":
        cmd += ["--engine", engine]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if out.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr}")
    update = json.loads(out.stdout)["update"]
    return float(update["seconds"]), wall, int(update["computed"])


def catalog_rows(db: Path) -> tuple[list[tuple], list[tuple]]:
    """Every file fact and feature of a catalog, without ids and write times."""
    con = sqlite3.connect(db / "catalog.sqlite")
    try:
        files = con.execute(
            "SELECT path, archive, size, mtime_ns, ctime_ns, width, height, digest FROM files "
            "ORDER BY path"
        ).fetchall()
        feats = con.execute(
            "SELECT f.path, x.method, x.codec, x.data, x.error FROM features x "
            "JOIN files f ON f.id = x.file_id ORDER BY f.path, x.method"
        ).fetchall()
    finally:
        con.close()
    return files, feats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=Path, default=None, help="folder to index as it is")
    ap.add_argument("--copies", type=int, default=4, help="copies of the corpus photos")
    ap.add_argument("--jobs", type=int, default=2, help="workers of each engine")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    folder = args.photos or build(ROOT / "bench" / "out" / "engine-photos", args.copies)
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    print(
        f"{folder}: {files} files, {args.jobs} workers, {args.rounds} rounds, "
        f"{os.cpu_count()} CPUs here"
    )
    best: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="engine-speed-") as tmp:
        for r in range(args.rounds):
            for engine in ("local", "ray"):
                db = Path(tmp) / f"{engine}-{r}"
                update, wall, computed = index(folder, db, engine, args.jobs)
                print(
                    f"  round {r + 1} {engine:5s}: {computed} files, update {update:6.2f} s, "
                    f"command {wall:6.2f} s"
                )
                u, w = best.get(engine, (float("inf"), float("inf")))
                best[engine] = (min(u, update), min(w, wall))
        same = catalog_rows(Path(tmp) / "local-0") == catalog_rows(Path(tmp) / "ray-0")
    print()
    print(f"{'engine':8s} {'update img/s':>13s} {'command img/s':>14s}")
    rate = {e: (files / u, files / w) for e, (u, w) in best.items()}
    for e, (u, w) in rate.items():
        print(f"{e:8s} {u:13.1f} {w:14.1f}")
    print(
        f"{'ray/local':8s} {rate['ray'][0] / rate['local'][0]:13.2f} "
        f"{rate['ray'][1] / rate['local'][1]:14.2f}"
    )
    print(f"catalogs identical: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
