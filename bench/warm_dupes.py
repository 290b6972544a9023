"""Warm `lookalike dupes` over an unchanged folder against the cold run (same folder, same run).

The cold run starts with an empty cache: every file is decoded and every candidate pair
the cheap layers leave open is verified with ORB. The warm run finds the features in the
catalog and the verdicts in the verdict cache, so it decodes and verifies nothing.
Target (issue 10): warm >= 10x faster than cold.

    python bench/warm_dupes.py [FOLDER]     # default ../shared/corpus/photos, else samples/
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "photos"


def _run(folder: Path, cache: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "lookalike", "dupes", str(folder), "--cache", str(cache),
         "--jobs", "2", "--json"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - t0


def _in_process(folder: Path, cache: Path) -> float:
    from lookalike.dupes.find import DupesOptions, find_duplicates

    t0 = time.perf_counter()
    find_duplicates([folder], DupesOptions(jobs=2, cache=str(cache)))
    return time.perf_counter() - t0


def main() -> None:
    folder = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else (CORPUS if CORPUS.is_dir() else ROOT / "samples")
    )
    n = sum(1 for p in folder.rglob("*") if p.is_file())
    print(f"{folder} ({n} files)")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "catalog.sqlite"
        cold = _run(folder, cache)
        warm = min(_run(folder, cache) for _ in range(3))
        print(f"CLI wall time:  cold {cold:.2f} s  warm {warm:.2f} s  -> {cold / warm:.1f}x")
    with tempfile.TemporaryDirectory() as tmp:  # the same without interpreter start-up
        cache = Path(tmp) / "catalog.sqlite"
        cold = _in_process(folder, cache)
        warm = min(_in_process(folder, cache) for _ in range(3))
        print(f"in process:     cold {cold:.2f} s  warm {warm:.2f} s  -> {cold / warm:.1f}x")
    print("target (issue 10): warm >= 10x faster than cold")


if __name__ == "__main__":
    main()
