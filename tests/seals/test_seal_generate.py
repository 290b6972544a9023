"""The seal generator: designs, impressions and forgeries from seeds; ink extraction; EER."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from seal_fonts import require_cjk_font

from lookalike.errors import UsageError
from lookalike.seals import FORGERY_KINDS, design, forgery, impression
from lookalike.seals.generate import POOL, render, trial_pairs
from lookalike.seals.ink import ink_crop, ink_mask, redness
from lookalike.seals.rates import equal_error_rate, far_frr

require_cjk_font()


def test_one_seed_one_design_and_one_impression() -> None:
    assert design(7) == design(7)
    assert design(7) != design(8)
    a = np.asarray(impression(design(7), np.random.default_rng(3)))
    b = np.asarray(impression(design(7), np.random.default_rng(3)))
    c = np.asarray(impression(design(7), np.random.default_rng(4)))
    assert a.shape == (320, 320, 3)
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - c).mean() > 3  # another print of the same seal varies


def test_designs_cover_both_shapes_and_use_the_pool() -> None:
    seals = [design(s) for s in range(40)]
    assert {s.shape for s in seals} == {"round", "square"}
    assert {s.grid for s in seals if s.shape == "square"} == {2, 3}
    assert all(set(s.text + s.bottom) <= set(POOL) for s in seals)


@pytest.mark.parametrize("kind", FORGERY_KINDS)
def test_a_forgery_is_close_but_not_the_same_seal(kind: str) -> None:
    seal = design(0)  # a round seal, so that every kind applies
    assert seal.shape == "round"
    fake = forgery(seal, np.random.default_rng(0), kind)
    assert fake.forged == kind and fake != seal
    a, b = render(seal) > 127, render(fake) > 127
    iou = (a & b).sum() / (a | b).sum()
    assert 0.3 < iou < 0.995, iou  # one character of fifteen changes little


def test_an_unknown_forgery_kind_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown forgery kind"):
        forgery(design(1), np.random.default_rng(0), "colour")


def test_ink_is_the_red_and_not_the_paper_or_printed_text() -> None:
    im = impression(design(3), np.random.default_rng(1))
    mask = ink_mask(redness(im))
    assert 0.03 < mask.mean() < 0.5
    page = Image.new("RGB", (100, 100), (245, 240, 225))
    page.paste((30, 30, 30), (10, 40, 90, 60))  # black print, no red
    assert not ink_mask(redness(page)).any()
    assert not ink_crop(page, 32).any()
    crop = ink_crop(im, 96)
    assert crop.shape == (96, 96) and crop.max() == 1.0


def test_trial_pairs_name_every_kind() -> None:
    kinds = [k for _, _, k in trial_pairs(0)]
    assert kinds == ["genuine", *FORGERY_KINDS, "other"]


def test_equal_error_rate() -> None:
    same = np.array([True, True, True, False, False, False])
    eer, threshold = equal_error_rate(np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1]), same)
    assert eer == 0 and 0.3 < threshold <= 0.7
    eer, threshold = equal_error_rate(np.array([0.9, 0.8, 0.2, 0.7, 0.3, 0.1]), same)
    assert eer == pytest.approx(1 / 3)
    assert far_frr(np.array([0.9, 0.8, 0.2, 0.7, 0.3, 0.1]), same, threshold) == (
        pytest.approx(1 / 3),
        pytest.approx(1 / 3),
    )
    with pytest.raises(UsageError):
        equal_error_rate(np.array([0.5, 0.6]), np.array([True, True]))
