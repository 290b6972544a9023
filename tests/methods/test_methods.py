"""Colour histogram, content fingerprint, SSIM, aspect ratio, and one conformance test for all."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from lookalike.decode import load
from lookalike.methods import DEFAULT_METHODS, REGISTRY, CodeMethod, get_method
from lookalike.methods.color import colour_histograms, cosine, pearson
from lookalike.methods.content import otsu_thresholds
from lookalike.methods.ssim import ssim


def test_colour_histogram_has_64_bins_of_4_levels_per_channel() -> None:
    im = np.zeros((1, 4, 4, 3), np.uint8)
    im[0, :2] = (255, 0, 0)  # red -> bin 3*16 = 48
    im[0, 2:] = (64, 128, 200)  # levels 1, 2, 3 -> 16 + 8 + 3 = 27
    h = colour_histograms(im)
    assert h.shape == (1, 64)
    assert h[0, 48] == pytest.approx(0.5) and h[0, 27] == pytest.approx(0.5)
    assert h.sum() == pytest.approx(1.0)


def test_cosine_and_pearson_agree_with_numpy() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random((5, 64)), rng.random((5, 64))
    expected_cos = [x @ y / np.linalg.norm(x) / np.linalg.norm(y) for x, y in zip(a, b)]
    expected_r = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]
    assert np.allclose(cosine(a, b), expected_cos)
    assert np.allclose(pearson(a, b), expected_r)


def test_colour_tells_a_recoloured_photo_from_a_brightened_copy(sample_photos: list[Path]) -> None:
    m = get_method("color")
    im = Image.open(sample_photos[0]).convert("RGB")
    brighter = ImageEnhance.Brightness(im).enhance(1.1)
    inverted = Image.eval(im, lambda v: 255 - v)
    f = m.features([im, brighter, inverted])
    assert m.similarity(f[0], f[1]) > m.similarity(f[0], f[2])
    assert m.verdict(float(m.similarity(f[0], f[2]))) == "different"
    pm = get_method("color", metric="pearson")
    assert pm.similarity(f[0], f[0]) == pytest.approx(1.0)


def test_otsu_threshold_matches_scikit_image(sample_photos: list[Path]) -> None:
    filters = pytest.importorskip("skimage.filters")
    grey = np.stack(
        [np.asarray(Image.open(p).convert("L").resize((50, 50))) for p in sample_photos]
    )
    ours = otsu_thresholds(grey)
    for g, t in zip(grey, ours, strict=True):
        ref = filters.threshold_otsu(g)
        # Same binarisation: scikit-image keeps pixels > t as foreground too.
        assert np.array_equal(g > t, g > ref), (t, ref)


def test_otsu_on_flat_and_two_valued_images() -> None:
    flat = np.full((1, 50, 50), 77, np.uint8)
    assert otsu_thresholds(flat)[0] == 77
    two = np.zeros((1, 50, 50), np.uint8)
    two[0, :, 25:] = 200
    t = otsu_thresholds(two)[0]
    assert 0 <= t < 200 and np.count_nonzero(two[0] > t) == 50 * 25


def test_content_fingerprint_keeps_copies_and_parts_different_photos(
    sample_photos: list[Path],
) -> None:
    m = get_method("content")
    assert isinstance(m, CodeMethod) and m.bits == 2500
    ims = [load(p) for p in sample_photos]
    smaller = ims[0].resize((ims[0].width // 3, ims[0].height // 3))
    f = m.features([ims[0], smaller, ims[1]])
    assert m.verdict(float(m.similarity(f[0], f[1]))) in ("similar", "identical")
    assert m.similarity(f[0], f[2]) < m.similarity(f[0], f[1])


def test_ssim_is_within_1e3_of_scikit_image_on_real_photos(sample_photos: list[Path]) -> None:
    metrics = pytest.importorskip("skimage.metrics")
    a = np.asarray(Image.open(sample_photos[0]).convert("L"))
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=30)
    variants = [
        np.asarray(Image.open(buf)),
        np.clip(a.astype(int) + 20, 0, 255).astype(np.uint8),
        np.asarray(Image.open(sample_photos[1]).convert("L").resize(a.shape[::-1])),
    ]
    for b in variants:
        ref = metrics.structural_similarity(
            a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
        )
        assert abs(ssim(a, b) - ref) < 1e-3
    batch = ssim(np.stack([a, a]), np.stack(variants[1:]))
    assert batch.shape == (2,)


def test_aspect_ratio_similarity_uses_the_original_size(sample_photos: list[Path]) -> None:
    m = get_method("aspect")
    wide = load(sample_photos[0], min_size=32)  # draft-decoded: original size kept in info
    square = Image.new("RGB", (300, 300))
    f = m.features([wide, square, wide])
    w, h = Image.open(sample_photos[0]).size
    assert np.allclose(f[0], [w, h])
    assert m.similarity(f[0], f[2]) == pytest.approx(1.0)
    assert m.similarity(f[0], f[1]) == pytest.approx(min(w / h, h / w))


@pytest.mark.parametrize("name", [n for n in REGISTRY if n not in ("orb", "sift")])
def test_every_method_conforms_to_the_protocol(name: str, sample_photos: list[Path]) -> None:
    """One conformance test for every registered method (perception's idea)."""
    m = get_method(name)
    assert m.name == name and m.kind in ("code", "vector", "pair") and m.reference
    ims = [load(p, mode="L" if m.grey else "RGB", min_size=m.min_size) for p in sample_photos]
    f = m.features(ims)
    assert len(f) == len(ims)
    same = np.atleast_1d(m.similarity(f[:3], f[:3]))
    assert np.allclose(same, 1.0)
    cross = np.atleast_1d(m.similarity(f[:-1], f[1:]))
    assert np.all((cross >= 0) & (cross <= 1))
    if m.decides:
        assert m.verdict(1.0) == "identical"
        assert m.verdict(0.0) == "different"
    else:  # a candidate finder leaves every pair to the layers that decide
        assert m.verdict(1.0) == m.verdict(0.0) == "uncertain"
    # opt-in: sift (slow), words/regions (candidate finders), gist (~10x pHash's cost)
    assert name in DEFAULT_METHODS or name in ("sift", "words", "regions", "gist")
