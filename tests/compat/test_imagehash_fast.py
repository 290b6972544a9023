"""lookalike.compat.imagehash_fast: imagehash's API with drafted JPEG thumbnails.

Its values stay within a few bits of imagehash's, it leaves the caller's image as it was,
and everything it does not draft is bit-identical to lookalike.compat.imagehash.
"""

from __future__ import annotations

import inspect
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lookalike.compat.imagehash as exact
import lookalike.compat.imagehash_fast as fast

DRAFTED = ["average_hash", "phash", "phash_simple", "dhash", "dhash_vertical"]


def test_the_api_is_the_exact_modules() -> None:
    assert fast.__all__ == exact.__all__
    for name in exact.__all__:
        theirs = getattr(exact, name)
        if inspect.isfunction(theirs):
            assert inspect.signature(getattr(fast, name)) == inspect.signature(theirs), name


@pytest.fixture(scope="module")
def large_jpegs(sample_photos: list[Path], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The sample photos at 2400 px wide, as JPEGs: large enough to be drafted (1/8)."""
    out = tmp_path_factory.mktemp("large")
    paths = []
    for p in sample_photos:
        im = Image.open(p)
        big = im.resize((im.width * 5, im.height * 5), Image.Resampling.BICUBIC)
        paths.append(out / p.name)
        big.save(paths[-1], quality=90)
    return paths


@pytest.mark.parametrize("name", DRAFTED)
def test_jpeg_values_stay_within_a_few_bits_of_the_exact_ones(
    name: str, large_jpegs: list[Path]
) -> None:
    distances = np.array(
        [
            getattr(fast, name)(Image.open(p)) - getattr(exact, name)(Image.open(p))
            for p in large_jpegs
        ]
    )
    assert np.median(distances) <= 1, distances
    assert distances.max() <= 10, distances


def test_large_jpegs_are_drafted_small_ones_are_not(
    large_jpegs: list[Path], sample_photos: list[Path]
) -> None:
    """A 2400 px JPEG's thumbnail comes from a 1/8 draft (close to, not equal to, the full
    decode's); a 480 px one is decoded in full (too small to draft to 256 px)."""
    drafted = [(_thumbnail_under_draft(p), _full_thumbnail(p)) for p in large_jpegs]
    assert any(not np.array_equal(a, b) for a, b in drafted)
    assert all(np.abs(a.astype(int) - b).mean() < 2 for a, b in drafted)
    assert all(np.array_equal(_thumbnail_under_draft(p), _full_thumbnail(p)) for p in sample_photos)


def _full_thumbnail(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L").resize((32, 32), exact.ANTIALIAS))


def _thumbnail_under_draft(path: Path) -> np.ndarray:
    token = exact.DRAFT.set(True)
    try:
        return exact._grey_thumbnail(Image.open(path), (32, 32))
    finally:
        exact.DRAFT.reset(token)


def test_the_callers_image_is_left_as_it_was(large_jpegs: list[Path]) -> None:
    im = Image.open(large_jpegs[0])
    size, tile = im.size, list(im.tile)
    fast.phash(im)
    assert im.size == size and im.tile == tile  # still the lazily opened full image
    im.load()
    assert im.size == size
    assert str(exact.phash(im)) == str(exact.phash(Image.open(large_jpegs[0])))


def test_an_image_opened_from_a_file_object_keeps_its_position(large_jpegs: list[Path]) -> None:
    data = large_jpegs[1].read_bytes()
    stream = io.BytesIO(data)
    im = Image.open(stream)
    at = stream.tell()
    h = fast.dhash(im)
    assert stream.tell() == at
    assert h == fast.dhash(large_jpegs[1]) == fast.dhash(data)
    im.load()
    assert im.size == Image.open(large_jpegs[1]).size


@pytest.mark.parametrize("name", DRAFTED)
def test_loaded_images_and_other_formats_are_exact(
    name: str, sample_photos: list[Path], tmp_path: Path
) -> None:
    loaded = Image.open(sample_photos[2])
    loaded.load()
    png = tmp_path / "photo.png"
    Image.open(sample_photos[2]).save(png)
    for image in (loaded, Image.open(png), png):
        assert str(getattr(fast, name)(image)) == str(getattr(exact, name)(image)), image


def test_whole_image_functions_are_exact(sample_photos: list[Path]) -> None:
    p = sample_photos[3]
    assert fast.whash(Image.open(p)) == exact.whash(Image.open(p))
    assert fast.colorhash(Image.open(p)) == exact.colorhash(Image.open(p))
    assert str(fast.crop_resistant_hash(Image.open(p))) == str(
        exact.crop_resistant_hash(Image.open(p))
    )


def test_whash_at_a_small_image_scale_is_drafted_and_close(large_jpegs: list[Path]) -> None:
    d = [
        fast.whash(Image.open(p), image_scale=64) - exact.whash(Image.open(p), image_scale=64)
        for p in large_jpegs
    ]
    assert max(d) <= 10, d


def test_chinese_paths_work(large_jpegs: list[Path], tmp_path: Path) -> None:
    named = tmp_path / "相似图片" / "照片.jpg"
    named.parent.mkdir()
    shutil.copy(large_jpegs[0], named)
    assert fast.phash(named) == fast.phash(Image.open(named))


def test_a_truncated_jpeg_raises_what_pillow_and_imagehash_raise(
    large_jpegs: list[Path], tmp_path: Path
) -> None:
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(large_jpegs[0].read_bytes()[:50_000])
    with pytest.raises(OSError, match="truncated") as theirs:
        exact.phash(Image.open(cut))
    with pytest.raises(OSError, match="truncated") as ours:
        fast.phash(Image.open(cut))
    assert type(ours.value) is type(theirs.value)
