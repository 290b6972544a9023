"""GIST: the Gabor bank of LMgist, energies where the gratings are, copies near, scenes apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from corpus import CORPUS
from PIL import Image

from lookalike.decode import load
from lookalike.features import extract_features
from lookalike.methods import get_method
from lookalike.methods.gist import DIMENSIONS, GRID, ORIENTATIONS, SIDE, gabor_bank, gist


def _grating(cycles: float, angle: float) -> np.ndarray:
    """A 128x128 sinusoidal grating: ``cycles`` periods across the image, waves along ``angle``."""
    y, x = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    wave = np.cos(2 * np.pi * cycles * (x * np.cos(angle) + y * np.sin(angle)))
    return (127.5 + 100 * wave).astype(np.float32)


def test_gabor_bank_peaks_at_lmgist_centre_frequencies() -> None:
    """createGabor: filter (s, j) peaks (value 1) at radius side * 0.3 / 1.85^s on angle -j*pi/8."""
    bank = gabor_bank()
    side = bank.shape[-1]
    assert bank.shape == (sum(ORIENTATIONS), side, side) and bank.max() <= 1.0
    for s in range(len(ORIENTATIONS)):
        k = s * 8  # orientation 0: along +x in LMgist's frequency plane
        radius = side * 0.3 / 1.85**s
        fx = round(radius)
        assert bank[k, 0, fx] == pytest.approx(
            np.exp(-10 * 0.35 * (fx / side / (0.3 / 1.85**s) - 1) ** 2), rel=1e-5
        )
        assert bank[k, 0, fx] > 0.9
        assert bank[k, fx, 0] < 1e-3  # the perpendicular direction is off


def test_a_grating_lights_the_filter_of_its_scale_and_orientation() -> None:
    """A vertical-stripe grating at a filter's centre frequency puts the most energy there."""
    for s in range(4):
        cycles = SIDE * 0.3 / 1.85**s  # the centre frequency (cycles per pixel) over 128 px
        g = gist(_grating(cycles, 0.0)[None])[0].reshape(sum(ORIENTATIONS), GRID * GRID)
        energy = g.sum(axis=1)
        assert np.argmax(energy) == s * 8, (s, np.argmax(energy))
    # and a grating turned by 90 degrees moves to orientation 4 of the same scale
    g = gist(_grating(SIDE * 0.3 / 1.85, np.pi / 2)[None])[0]
    assert np.argmax(g.reshape(32, 16).sum(axis=1)) == 8 + 4


def test_gist_rows_are_unit_512_vectors_and_batches_agree(sample_photos: list[Path]) -> None:
    m = get_method("gist")
    ims = [load(p, mode="L", min_size=m.min_size) for p in sample_photos[:5]]
    batch = m.features(ims)
    assert batch.shape == (5, DIMENSIONS) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    one = np.concatenate([m.features([im]) for im in ims])
    assert np.allclose(batch, one, atol=1e-5)
    s = m.similarity(batch[:, None], batch[None])
    assert s.shape == (5, 5) and np.allclose(np.diag(s), 1.0, atol=1e-5)
    assert np.all((s >= 0) & (s <= 1))


def test_gist_keeps_resized_copies_near_and_other_photos_apart(sample_photos: list[Path]) -> None:
    m = get_method("gist")
    originals = [Image.open(p).convert("L") for p in sample_photos]
    small = [
        im.resize((im.width // 3, im.height // 3), Image.Resampling.LANCZOS) for im in originals
    ]
    f = m.features([*originals, *small])
    n = len(originals)
    copies = m.similarity(f[:n], f[n:])
    assert np.all(copies >= m.thresholds.similar), copies
    cross = m.similarity(f[:n, None], f[None, :n])[~np.eye(n, dtype=bool)]
    assert np.mean(cross < m.thresholds.similar) >= 0.95, np.sort(cross)[-5:]


def test_gist_finds_the_original_of_every_same_aspect_rendition() -> None:
    """The corpus wallpapers' previews and resized renditions rank their original first."""
    originals = sorted((CORPUS / "photos" / "originals").glob("*.jpg"))
    variants = sorted((CORPUS / "photos" / "variants").glob("*__screenshot.jpg"))
    if not originals or not variants:
        pytest.skip("../shared/corpus/photos is absent (it lives beside the repo clone)")
    m = get_method("gist")
    fo = extract_features(originals, [m])
    fv = extract_features(variants, [m])
    assert not fo.failures and not fv.failures
    names = [Path(p).stem for p in fo.paths]
    sims = fv.features["gist"] @ fo.features["gist"].T
    best = [names[i] for i in sims.argmax(axis=1)]
    expected = [Path(p).stem.split("__")[0] for p in fv.paths]
    hits = np.mean([b == e for b, e in zip(best, expected)])
    assert hits >= 0.95, list(zip(best, expected))
