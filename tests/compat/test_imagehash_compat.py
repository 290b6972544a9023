"""lookalike.compat.imagehash gives imagehash 4.3.2's values, bit for bit, on real photos."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import lookalike.compat.imagehash as compat

imagehash = pytest.importorskip("imagehash", reason="imagehash is a test-only dependency")

FUNCTIONS = [
    "average_hash",
    "phash",
    "phash_simple",
    "dhash",
    "dhash_vertical",
    "whash",
    "whash_db4",
    "colorhash",
    "crop_resistant_hash",
]

#: imagehash takes 0.1-0.4 s per call of these on a 1600 px photo
SLOW_IN_IMAGEHASH = {"whash", "whash_db4", "colorhash", "crop_resistant_hash"}


def _call(lib: Any, name: str, image: Any, size: int) -> Any:
    """One hash of ``image`` by ``lib`` (imagehash or the compat module) at ``size``."""
    if name == "whash_db4":
        return lib.whash(image, size, mode="db4")
    if name == "colorhash":  # binbits: bits per fraction
        return lib.colorhash(image, binbits=size)
    if name == "crop_resistant_hash":
        return lib.crop_resistant_hash(image, hash_func=partial(lib.dhash, hash_size=size))
    return getattr(lib, name)(image, size)


def _same(ours: Any, theirs: Any) -> bool:
    """Same string and, for single hashes, the same array (shape, dtype, bits) and hash()."""
    if str(ours) != str(theirs):
        return False
    if isinstance(theirs, imagehash.ImageMultiHash):
        return all(_same(a, b) for a, b in zip(ours.segment_hashes, theirs.segment_hashes))
    return (
        ours.hash.shape == theirs.hash.shape
        and ours.hash.dtype == theirs.hash.dtype
        and np.array_equal(ours.hash, theirs.hash)
        and hash(ours) == hash(theirs)
        and len(ours) == len(theirs)
    )


def _mismatches(photos: list[Path], names: list[str], sizes: tuple[int, ...]) -> list[tuple]:
    out = []
    for p in photos:
        with Image.open(p) as im:
            im.load()  # decoded once, fed to both libraries
            for name in names:
                for size in sizes:
                    if not _same(_call(compat, name, im, size), _call(imagehash, name, im, size)):
                        out.append((p.name, name, size))
    return out


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_matches_imagehash_on_the_committed_samples(
    name: str, sample_photos: list[Path]
) -> None:
    assert not _mismatches(sample_photos, [name], (8, 16))


@pytest.mark.slow
@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_matches_imagehash_on_the_corpus_photos(
    name: str, corpus_photos: list[Path]
) -> None:
    photos = corpus_photos
    if name in SLOW_IN_IMAGEHASH:  # the 38 originals only, to keep the run short
        photos = [p for p in corpus_photos if p.parent.name == "originals"]
    assert len(photos) >= 30
    assert not _mismatches(photos, [name], (8, 16))


@pytest.mark.parametrize("name", ["average_hash", "phash", "dhash", "whash", "colorhash"])
def test_a_path_hashes_like_imagehash_on_image_open(name: str, sample_photos: list[Path]) -> None:
    for p in sample_photos[:3]:
        ours = _call(compat, name, p, 8)
        assert _same(ours, _call(imagehash, name, Image.open(p), 8))
        assert _same(_call(compat, name, p.read_bytes(), 8), ours)
        with open(p, "rb") as f:
            assert _same(_call(compat, name, f, 8), ours)


def test_other_image_modes_match_imagehash(sample_photos: list[Path]) -> None:
    im = Image.open(sample_photos[0])
    for mode in ("L", "RGBA", "P", "CMYK", "I", "1"):
        converted = im.convert(mode)
        for name in ["average_hash", "phash", "dhash", "dhash_vertical", "whash"]:
            assert _same(_call(compat, name, converted, 8), _call(imagehash, name, converted, 8))


@pytest.mark.parametrize("size", range(2, 21))
def test_hex_strings_round_trip_like_imagehash_for_any_hash_size(
    size: int, sample_photos: list[Path]
) -> None:
    im = Image.open(sample_photos[0])
    h = compat.phash(im, size)
    text = str(h)
    assert text == str(imagehash.phash(im, size))
    assert compat.hex_to_hash(text) == h
    assert _same(compat.hex_to_hash(text), imagehash.hex_to_hash(text))


@pytest.mark.parametrize("binbits", [1, 3, 8])
def test_flat_and_multi_hex_strings_parse_like_imagehash(
    binbits: int, sample_photos: list[Path]
) -> None:
    im = Image.open(sample_photos[1])
    text = str(compat.colorhash(im, binbits))
    assert _same(
        compat.hex_to_flathash(text, binbits * 14), imagehash.hex_to_flathash(text, binbits * 14)
    )
    multi = str(compat.crop_resistant_hash(im, min_segment_size=100))
    assert _same(compat.hex_to_multihash(multi), imagehash.hex_to_multihash(multi))
    assert _same(
        compat.old_hex_to_hash("ffeb89818193ffff"), imagehash.old_hex_to_hash("ffeb89818193ffff")
    )


def _outcome(call: Callable[[], Any]) -> tuple[str, str]:
    try:
        return "ok", str(call())
    except Exception as exc:
        return type(exc).__name__, str(exc)


def test_bad_arguments_fail_as_in_imagehash(sample_photos: list[Path]) -> None:
    im = Image.open(sample_photos[0])
    calls = [
        lambda lib: lib.average_hash(im, 1),
        lambda lib: lib.phash(im, 0),
        lambda lib: lib.dhash(im, -1),
        lambda lib: lib.whash(im, 12),
        lambda lib: lib.whash(im, 8, image_scale=17),
        lambda lib: lib.whash(im, 32, image_scale=16),
        lambda lib: lib.colorhash(im, 0),
        lambda lib: lib.old_hex_to_hash("ffeb", 8),
        lambda lib: lib.hex_to_hash("xyz"),
        lambda lib: lib.hex_to_hash(""),
        lambda lib: lib.hex_to_hash("-f"),
        lambda lib: lib._binary_array_to_hex(np.array([], bool)),
        lambda lib: lib.phash(im) - None,
        lambda lib: lib.phash(im) - lib.phash(im, 16),
        lambda lib: lib.phash(im) == None,  # noqa: E711
        lambda lib: lib.phash(im) != None,  # noqa: E711
    ]
    for call in calls:
        assert _outcome(partial(call, compat)) == _outcome(partial(call, imagehash))


def test_value_types_behave_like_imagehash(sample_photos: list[Path]) -> None:
    a, b = (Image.open(p) for p in sample_photos[:2])
    ours = [compat.dhash(a), compat.dhash(b)]
    theirs = [imagehash.dhash(a), imagehash.dhash(b)]
    assert ours[0] - ours[1] == theirs[0] - theirs[1]
    assert type(ours[0] - ours[1]) is type(theirs[0] - theirs[1])
    assert repr(ours[0]) == repr(theirs[0])
    assert (ours[0] == ours[1], ours[0] != ours[1]) == (False, True)
    assert len({ours[0], compat.dhash(a)}) == 1
    ma = compat.crop_resistant_hash(a, min_segment_size=100)
    mb = compat.crop_resistant_hash(b, min_segment_size=100)
    ra = imagehash.crop_resistant_hash(a, min_segment_size=100)
    rb = imagehash.crop_resistant_hash(b, min_segment_size=100)
    assert (ma - mb, ma == mb, ma != mb, hash(ma)) == (ra - rb, ra == rb, ra != rb, hash(ra))
    assert ma.hash_diff(mb, hamming_cutoff=20) == ra.hash_diff(rb, hamming_cutoff=20)
    assert ma.matches(mb, bit_error_rate=0.4) == ra.matches(rb, bit_error_rate=0.4)
    assert str(ma.best_match([mb, ma])) == str(ra.best_match([rb, ra]))
    assert repr(ma) == repr(ra)


def _segments(lib: Any, pixels: np.ndarray, threshold: int, min_size: int) -> list:
    segments = lib._find_all_segments(pixels, threshold, min_size)
    return sorted(sorted((int(r), int(c)) for r, c in s) for s in segments)


def test_segmentation_matches_imagehash_on_noise_including_its_stopping_rule() -> None:
    rng = np.random.default_rng(17)
    for trial in range(120):
        n = int(rng.integers(5, 40))
        if trial % 2:
            blocks = rng.random((n // 4 + 1, n // 4 + 1))
            pixels = (np.kron(blocks, np.ones((4, 4)))[:n, :n] * 255).astype(np.float32)
        else:
            pixels = (rng.random((n, n)) * 255).astype(np.float32)
        threshold, min_size = int(rng.integers(20, 230)), int(rng.integers(0, 30))
        ours, theirs = (
            _outcome(partial(_segments, lib, pixels, threshold, min_size))
            for lib in (compat, imagehash)
        )
        assert ours == theirs, trial
    checkerboard = (np.indices((20, 20)).sum(axis=0) % 2 * 255).astype(np.float32)
    with pytest.raises(IndexError):  # imagehash's valley loop runs out of pixels
        compat._find_all_segments(checkerboard, 128, 0)


def test_find_region_matches_imagehash() -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((30, 30)) > 0.4
    border = {(-1, z) for z in range(30)} | {(z, -1) for z in range(30)}
    border |= {(30, z) for z in range(30)} | {(z, 30) for z in range(30)}
    ours, theirs = set(border), set(border)
    assert compat._find_region(mask, ours) == imagehash._find_region(mask, theirs)
    assert ours == theirs


@pytest.mark.parametrize("strips", [2, 3, 4])
def test_thumbnails_made_in_strips_are_the_same_pixels(
    strips: int, sample_photos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compat, "STRIP_PIXELS", 0)  # every picture in strips
    monkeypatch.setattr(compat, "_STRIPS", strips)
    monkeypatch.setattr(compat, "_strip_pool", None)
    for p in sample_photos:
        with Image.open(p) as im:
            im.load()
            for mode in ("RGB", "RGBA", "L"):
                picture = im.convert(mode)
                for size in ((32, 32), (9, 8), (8, 9), (64, 64), (picture.width, 8)):
                    plain = picture.convert("L").resize(size, Image.Resampling.LANCZOS)
                    assert np.array_equal(compat._lanczos_grey(picture, size), plain), (p, size)
            for name in ["average_hash", "phash", "dhash", "crop_resistant_hash"]:
                assert _same(_call(compat, name, im, 8), _call(imagehash, name, im, 8))
