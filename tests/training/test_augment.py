"""The training edits: deterministic by seed, and the simulated JPEG as lossy as libjpeg's."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch", reason="the training edits need torch (the train extra)")

from lookalike.training import augment, synthetic  # noqa: E402


def _photo(path: Path, side: int = 160) -> np.ndarray:
    im = Image.open(path).convert("RGB").resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(im, np.float32) / 255


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


@pytest.mark.parametrize("quality", [20, 50, 85])
def test_simulated_jpeg_loses_as_much_as_pillow(sample_photos: list[Path], quality: int) -> None:
    x = _photo(sample_photos[0])
    buf = io.BytesIO()
    Image.fromarray((x * 255).round().astype(np.uint8)).save(buf, "JPEG", quality=quality)
    real = np.asarray(Image.open(buf).convert("RGB"), np.float32) / 255
    gen = torch.Generator()
    gen.manual_seed(0)
    t = torch.from_numpy(x).permute(2, 0, 1)[None]
    sim = augment.jpeg(t, gen, p=1.0, qualities=(quality, quality))[0].permute(1, 2, 0).numpy()
    assert abs(_psnr(x, sim) - _psnr(x, real)) < 2.5, (_psnr(x, sim), _psnr(x, real))
    assert _psnr(sim, real) > _psnr(x, real)  # nearer libjpeg's output than the original is


def test_views_repeat_with_the_seed_and_differ_between_views(sample_photos: list[Path]) -> None:
    rgba = (
        torch.from_numpy(
            np.stack([np.dstack([_photo(p, 64), np.ones((64, 64))]) for p in sample_photos[:4]])
        )
        .permute(0, 3, 1, 2)
        .float()
    )
    bg = torch.ones(4, 3, 64, 64)
    fill = torch.zeros(4, 3, 32, 32)

    def run(seed: int) -> torch.Tensor:
        gen = torch.Generator()
        gen.manual_seed(seed)
        return augment.views(rgba, bg, fill, 32, gen)

    a, b = run(1), run(1)
    assert a.shape == (4, 3, 32, 32) and torch.equal(a, b)
    assert not torch.equal(a, run(2))


def test_charts_are_fixed_by_their_seed() -> None:
    a, b = synthetic.chart(7), synthetic.chart(7)
    assert a.shape == (256, 256, 3) and np.array_equal(a, b)
    assert not np.array_equal(a, synthetic.chart(8))
    gen = torch.Generator()
    gen.manual_seed(0)
    leaves = synthetic.dead_leaves(2, 64, gen, torch.device("cpu"))
    assert leaves.shape == (2, 3, 64, 64) and float(leaves.min()) >= 0 and float(leaves.max()) <= 1
    assert float(leaves.std()) > 0.05
