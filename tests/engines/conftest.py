"""Fixtures of the engine tests: a folder of photos to index, and a catalog's contents."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageOps

CatalogRows = tuple[list[tuple], list[tuple]]


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    """96 JPEG renditions of the samples (resized, mirrored, recompressed) under a Chinese
    folder name, plus a truncated JPEG and a text file named like a picture."""
    folder = tmp_path_factory.mktemp("ray") / "照片"
    folder.mkdir()
    rng = random.Random(5)
    for k, photo in enumerate(sample_photos):
        im = Image.open(photo).convert("RGB")
        for v in range(12):
            w = rng.randint(320, 640)
            out = im.resize((w, max(1, w * im.height // im.width)))
            if v % 4 == 1:
                out = ImageOps.mirror(out)
            out.save(folder / f"图{k:02d}-{v:02d}.jpg", quality=rng.choice((70, 85, 95)))
    data = (folder / "图00-00.jpg").read_bytes()
    (folder / "坏的.jpg").write_bytes(data[: len(data) // 3])
    (folder / "notes.png").write_text("not a picture")
    return folder


def _catalog_rows(path: Path) -> CatalogRows:
    db = sqlite3.connect(path)
    try:
        files = db.execute(
            "SELECT path, archive, size, mtime_ns, ctime_ns, width, height, digest FROM files "
            "ORDER BY path"
        ).fetchall()
        feats = db.execute(
            "SELECT f.path, x.method, x.codec, x.data, x.error FROM features x "
            "JOIN files f ON f.id = x.file_id ORDER BY f.path, x.method"
        ).fetchall()
    finally:
        db.close()
    return files, feats


@pytest.fixture(scope="session")
def catalog_rows() -> Callable[[Path], CatalogRows]:
    """Everything a catalog holds about files and features, ids and write times left out."""
    return _catalog_rows
