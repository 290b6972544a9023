"""A DuplicateReport over real photos, with a Chinese name and an HTML-looking name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from lookalike.dupes.records import DuplicateReport, Group, Member, Pair
from lookalike.errors import Failure

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
HOSTILE = '<script>x<b>"&.jpg'  # no "/": no filesystem allows it in a name


def _member(path: Path, similarity: float, method: str) -> Member:
    with Image.open(path) as im:
        w, h = im.size
    return Member(str(path), similarity, method, w, h, path.stat().st_size)


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The committed samples copied, plus copies under a Chinese and a hostile name."""
    root = tmp_path_factory.mktemp("photos")
    out = {}
    for src in sorted(SAMPLES.glob("*.jpg")):
        out[src.stem] = Path(shutil.copy(src, root / src.name))
    small = root / "照片.jpg"
    with Image.open(out["Autumn"]) as im:
        im.resize((im.width // 2, im.height // 2)).save(small, quality=85)
    out["照片"] = small
    try:
        hostile = root / HOSTILE
        shutil.copy(out["Kite"], hostile)
        out["hostile"] = hostile
    except OSError:  # a filesystem that refuses < > in names
        pass
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out["broken"] = root / "broken.jpg"
    return out


@pytest.fixture(scope="session")
def report(photos: dict[str, Path]) -> DuplicateReport:
    """Two groups (one with the Chinese copy, one with the hostile name) and two errors."""
    g1 = Group(
        keep=str(photos["Autumn"]),
        reason="largest resolution",
        members=[_member(photos["Autumn"], 1.0, "phash"), _member(photos["照片"], 0.9731, "phash")],
    )
    second = photos.get("hostile", photos["MilkyWay"])
    g2 = Group(
        keep=str(photos["Kite"]),
        reason="oldest file <i>& first</i>",
        members=[_member(photos["Kite"], 1.0, "sha256"), _member(second, 0.8125, "orb")],
    )
    return DuplicateReport(
        groups=[g1, g2],
        pairs=[
            Pair(g1.keep, g1.members[1].path, 0.9731, "phash"),
            Pair(g2.keep, g2.members[1].path, 0.8125, "orb", "similar"),
        ],
        errors=[
            Failure(str(photos["broken"]), "corrupt image data (<script>alert(1)</script>)"),
            Failure("/nope/缺失.jpg", "no such file"),
        ],
        scanned=len(photos),
    )
