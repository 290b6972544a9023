"""Ctrl+C stops a long `lookalike dupes` within 2 s, ten times out of ten, leaving nothing
half-written: the worker pool is ended at once, and reports are written atomically."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageOps


@pytest.fixture(scope="module")
def busy_folder(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    """240 PNG renditions of the samples: long enough to be interrupted at any stage."""
    folder = tmp_path_factory.mktemp("busy")
    rng = random.Random(7)
    n = 0
    for photo in sample_photos:
        im = Image.open(photo).convert("RGB")
        for k in range(30):
            w = rng.randint(500, 900)
            v = im.resize((w, max(1, w * im.height // im.width)))
            if k % 3 == 0:
                v = ImageOps.mirror(v)
            v.save(folder / f"{n:04d}.png", compress_level=1)
            n += 1
    return folder


@pytest.mark.slow
def test_ctrl_c_stops_dupes_within_two_seconds(busy_folder: Path, tmp_path: Path) -> None:
    rng = random.Random(11)
    for attempt in range(10):
        report = tmp_path / f"r{attempt}.html"
        cmd = [sys.executable, "-m", "lookalike", "dupes", str(busy_folder), "--cache", ""]
        proc = subprocess.Popen(
            [*cmd, "--jobs", "2", "--report", str(report)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(0.8, 4.0))
        if proc.poll() is not None:  # finished before the signal: nothing to interrupt
            continue
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"attempt {attempt}: still running 10 s after Ctrl+C")
        took = time.monotonic() - sent
        assert took < 2.0, f"attempt {attempt}: exit took {took:.2f} s after Ctrl+C"
        assert proc.returncode == 130, (attempt, proc.returncode, err[-500:])
        assert "Traceback" not in err, err[-2000:]
        assert not report.exists() or report.read_text(encoding="utf-8").rstrip().endswith(
            "</html>"
        )
        assert not list(tmp_path.glob(".lookalike-*")), "a temporary report was left behind"
