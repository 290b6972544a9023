"""aHash, dHash, pHash, wHash: bit-identical to imagehash in exact mode, close in fast mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.decode import load, load_raw
from lookalike.methods import HASHES, Hash, get_method
from lookalike.methods.hashes import average_hash, dhash, phash, whash

imagehash = pytest.importorskip("imagehash", reason="imagehash is a test-only dependency")

REFERENCE = {
    "ahash": imagehash.average_hash,
    "dhash": imagehash.dhash,
    "phash": imagehash.phash,
    "whash": imagehash.whash,
}


def _varied_images(folder: Path, photos: list[Path]) -> list[Path]:
    """Real photos plus the same photos in other modes and formats (varied inputs)."""
    out = list(photos)
    for i, p in enumerate(photos[:6]):
        im = Image.open(p)
        for mode, fmt in (("L", "PNG"), ("RGBA", "PNG"), ("P", "GIF"), ("RGB", "WEBP")):
            q = folder / f"{i}_{mode}.{fmt.lower()}"
            im.convert(mode).save(q, format=fmt)
            out.append(q)
    return out


def test_exact_mode_is_bit_identical_to_imagehash_on_real_photos(
    corpus_photos: list[Path], tmp_path: Path
) -> None:
    images = _varied_images(tmp_path, corpus_photos)
    assert len(images) >= 50
    methods = [get_method(name, exact=True) for name in HASHES]
    mismatched = []
    for p in images:
        raw = load_raw(p)  # decoded once, fed to both libraries
        for m in methods:
            ours = str(Hash.from_code(m.features([raw])[0], m.bits))
            if ours != str(REFERENCE[m.name](raw)):
                mismatched.append((m.name, str(p)))
    assert not mismatched


@pytest.mark.parametrize("name", HASHES)
def test_exact_mode_matches_imagehash_on_the_committed_samples_at_256_bits(
    name: str, sample_photos: list[Path]
) -> None:
    method = get_method(name, hash_size=16, exact=True)
    codes = method.features([load_raw(p) for p in sample_photos])
    for p, c in zip(sample_photos, codes, strict=True):
        expected = str(REFERENCE[name](Image.open(p), hash_size=16))
        assert str(Hash.from_code(c, 256)) == expected, p
        assert len(expected) == 64


@pytest.mark.parametrize("name", HASHES)
def test_fast_mode_median_distance_to_exact_is_at_most_two_bits(
    name: str, corpus_photos: list[Path]
) -> None:
    exact = get_method(name, exact=True)
    fast = get_method(name)
    e = exact.features([load_raw(p) for p in corpus_photos])
    f = fast.features([load(p, mode="L", min_size=fast.min_size) for p in corpus_photos])
    d = fast.distance(e, f)
    assert np.median(d) <= 2, (name, np.median(d))
    assert np.mean(d <= 5) >= 0.9  # the fast hash stays "similar" to the exact one


def test_hash_value_type_behaves_like_imagehash(sample_photos: list[Path]) -> None:
    a = phash(sample_photos[0], exact=True)
    b = phash(sample_photos[1], exact=True)
    ref_a = imagehash.phash(Image.open(sample_photos[0]))
    ref_b = imagehash.phash(Image.open(sample_photos[1]))
    assert str(a) == str(ref_a) and len(str(a)) == 16
    assert a - b == ref_a - ref_b
    assert Hash.from_hex(str(a)) == a
    assert hash(Hash.from_hex(str(a))) == hash(a)
    assert a.similarity(a) == 1.0
    assert a.similarity(b) == pytest.approx(1 - (a - b) / 64)
    with pytest.raises(ValueError, match="not a hex hash"):
        Hash.from_hex("xyz")
    with pytest.raises(ValueError, match="differ in length"):
        _ = a - phash(sample_photos[0], hash_size=16)


def test_single_image_functions_accept_paths_bytes_and_images(sample_photos: list[Path]) -> None:
    p = sample_photos[2]
    for fn, name in ((average_hash, "ahash"), (dhash, "dhash"), (phash, "phash"), (whash, "whash")):
        decoded = load(p, mode="L", min_size=get_method(name).min_size)
        assert fn(p) == fn(p.read_bytes()) == fn(decoded)
        assert str(fn(p, exact=True)) == str(REFERENCE[name](Image.open(p)))


def test_hashes_survive_resize_and_recompression(sample_photos: list[Path], tmp_path: Path) -> None:
    for p in sample_photos:
        im = Image.open(p)
        q = tmp_path / f"{p.stem}_small.jpg"
        im.resize((im.width // 2, im.height // 2)).save(q, quality=60)
        for name in HASHES:
            m = get_method(name)
            f = m.features([load(p, mode="L", min_size=m.min_size), load(q, mode="L")])
            assert m.distance(f[0], f[1]) <= 5, (name, p)


def test_different_photos_are_different(sample_photos: list[Path]) -> None:
    m = get_method("phash")
    f = m.features([load(p, mode="L", min_size=128) for p in sample_photos])
    d = m.distance(f[:, None, :], f[None, :, :])
    off = d[~np.eye(len(f), dtype=bool)]
    assert off.min() > 10
