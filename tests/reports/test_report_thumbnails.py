"""Thumbnails: small JPEGs from paths or bytes, None (no crash) for anything undecodable."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from lookalike.reports.thumbnails import make_thumbnail, make_thumbnails, thumbnail_jpeg


def test_thumbnail_from_path_is_a_small_jpeg(photos: dict[str, Path]) -> None:
    data = thumbnail_jpeg(photos["Altai"], max_side=100)
    assert data is not None and data[:3] == b"\xff\xd8\xff"
    with Image.open(io.BytesIO(data)) as im:
        assert max(im.size) == 100 and im.format == "JPEG"


def test_thumbnail_from_bytes_and_chinese_name(photos: dict[str, Path]) -> None:
    assert thumbnail_jpeg(photos["照片"].read_bytes(), 64) is not None
    thumb = make_thumbnail(photos["照片"], 64)
    assert thumb is not None and (thumb.source_width, thumb.source_height) == (240, 150)


def test_png_with_alpha_becomes_jpeg() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (300, 200), (255, 0, 0, 0)).save(buf, "PNG")
    thumb = make_thumbnail(buf.getvalue(), 30)
    assert thumb is not None and (thumb.width, thumb.height) == (30, 20)


def test_undecodable_input_gives_none(photos: dict[str, Path], tmp_path: Path) -> None:
    assert thumbnail_jpeg(photos["broken"]) is None
    assert thumbnail_jpeg(b"") is None
    assert thumbnail_jpeg(b"%PDF-1.7 not an image") is None
    assert thumbnail_jpeg(tmp_path / "missing.jpg") is None
    assert thumbnail_jpeg(tmp_path) is None
    assert thumbnail_jpeg(None) is None


def test_many_thumbnails_keep_order(photos: dict[str, Path]) -> None:
    sources = [photos["Kite"], photos["broken"], photos["Path"]]
    thumbs = make_thumbnails(sources, 50, jobs=3)
    assert [t is not None for t in thumbs] == [True, False, True]
    assert thumbs[0] == make_thumbnail(photos["Kite"], 50)
