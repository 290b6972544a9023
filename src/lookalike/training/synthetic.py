"""Pictures the recipe draws itself, so the default model needs no photo it may not use.

* **Dead leaves** (Lee, Mumford & Huang 2001; used for pre-training by Baradad et al.,
  "Learning to See by Looking at Noise", NeurIPS 2021): discs and boxes of random colour
  and shading, sizes drawn from a power law, dropped on top of each other, drawn in torch
  so every step gets new ones.
* **Charts and text pages** (Pillow): bar, line, scatter and pie charts with axes, grids
  and labels, and pages of text lines -- the figures of the reports lookalike checks, and
  the pictures that differ only in their data, which a copy detector must keep apart.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lookalike.errors import require

EXTRA = "train"
_WORDS = (
    "total",
    "revenue",
    "cost",
    "growth",
    "share",
    "year",
    "quarter",
    "region",
    "north",
    "south",
    "east",
    "west",
    "sales",
    "profit",
    "index",
    "rate",
    "mean",
    "model",
    "sample",
    "figure",
    "table",
    "result",
    "method",
    "data",
    "value",
    "test",
    "收入",
    "成本",
    "增长",
    "年度",
    "季度",
    "地区",
    "销售",
    "利润",
    "指数",
    "样本",
    "结果",
    "方法",
    "数据",
)


def dead_leaves(n: int, side: int, gen: Any, device: Any, shapes: int = 48) -> Any:
    """``n`` dead-leaves pictures (n, 3, side, side) in [0, 1]."""
    torch = require("torch", EXTRA)
    ys = torch.linspace(0, 1, side, device=device).view(1, side, 1)
    xs = torch.linspace(0, 1, side, device=device).view(1, 1, side)
    out = torch.rand(n, 3, 1, 1, generator=gen, device=device).expand(n, 3, side, side).clone()
    for _ in range(shapes):
        # radius log-uniform between 0.03 and 0.5 of the side (scale-free, as in nature)
        u = torch.rand(n, generator=gen, device=device)
        r = 0.03 * (0.5 / 0.03) ** u
        cx = torch.rand(n, generator=gen, device=device).view(n, 1, 1)
        cy = torch.rand(n, generator=gen, device=device).view(n, 1, 1)
        r = r.view(n, 1, 1)
        disc = torch.rand(n, generator=gen, device=device).view(n, 1, 1) < 0.6
        inside = torch.where(
            disc,
            (xs - cx) ** 2 + (ys - cy) ** 2 < r**2,
            ((xs - cx).abs() < r) & ((ys - cy).abs() < r * 0.7),
        )
        base = torch.rand(n, 3, 1, 1, generator=gen, device=device)
        slope = (torch.rand(n, 3, 2, generator=gen, device=device) - 0.5) * 0.6
        shade = base + slope[..., 0:1].unsqueeze(-1) * (xs - cx).unsqueeze(1) / r.unsqueeze(1) * 0.5
        shade = (
            shade + slope[..., 1:2].unsqueeze(-1) * (ys - cy).unsqueeze(1) / r.unsqueeze(1) * 0.5
        )
        out = torch.where(inside.unsqueeze(1), shade.clamp(0, 1), out)
    return out


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _palette(rng: np.random.Generator, k: int) -> list[tuple[int, int, int]]:
    hue0 = rng.uniform(0, 1)
    cols = []
    for i in range(k):
        h = (hue0 + i / max(k, 1)) % 1.0
        r, g, b = (0.5 + 0.45 * math.cos(2 * math.pi * (h + o)) for o in (0, 1 / 3, 2 / 3))
        cols.append((int(255 * r), int(255 * g), int(255 * b)))
    return cols


def chart(seed: int, side: int = 256) -> np.ndarray:
    """One chart or text page (side, side, 3) uint8, fully determined by ``seed``."""
    rng = np.random.default_rng(seed)
    paper = tuple(int(v) for v in rng.integers(225, 256, 3)) if rng.random() < 0.5 else (255,) * 3
    im = Image.new("RGB", (side, side), paper)
    draw = ImageDraw.Draw(im)
    ink = (int(rng.integers(0, 80)),) * 3
    font = _font(int(rng.integers(9, 15)))
    kind = rng.choice(["bar", "line", "scatter", "pie", "text"], p=[0.3, 0.25, 0.15, 0.1, 0.2])
    if kind == "text":
        y = int(rng.integers(4, 20))
        while y < side - 10:
            words = rng.choice(_WORDS, int(rng.integers(2, 9)))
            draw.text((int(rng.integers(4, 24)), y), " ".join(words), fill=ink, font=font)
            y += int(rng.integers(12, 22))
        return np.asarray(im)
    if kind == "pie":
        k = int(rng.integers(2, 7))
        parts = rng.dirichlet(np.ones(k)) * 360
        box = (side * 0.15, side * 0.15, side * 0.85, side * 0.85)
        start = float(rng.uniform(0, 360))
        for part, col in zip(parts, _palette(rng, k), strict=True):
            draw.pieslice(box, start, start + float(part), fill=col, outline=paper)
            start += float(part)
        draw.text((4, 4), " ".join(rng.choice(_WORDS, 3)), fill=ink, font=font)
        return np.asarray(im)
    left, bottom, right, top = 28, side - 24, side - 8, 16
    if rng.random() < 0.6:
        for gy in np.linspace(top, bottom, int(rng.integers(3, 8))):
            draw.line((left, gy, right, gy), fill=(215, 215, 215))
    draw.line((left, top, left, bottom), fill=ink)
    draw.line((left, bottom, right, bottom), fill=ink)
    series = int(rng.integers(1, 4))
    cols = _palette(rng, series)
    points = int(rng.integers(3, 13))
    values = rng.uniform(0.05, 1.0, (series, points))
    if rng.random() < 0.5:
        values = np.clip(np.cumsum(rng.normal(0, 0.15, (series, points)), axis=1) + 0.5, 0.02, 1)
    xs = np.linspace(left + 8, right - 8, points)
    ys = bottom - values * (bottom - top - 4)
    if kind == "bar":
        width = (right - left - 16) / points / (series + 0.5)
        for s in range(series):
            for i in range(points):
                x0 = xs[i] - width * series / 2 + s * width
                draw.rectangle((x0, ys[s, i], x0 + width * 0.9, bottom - 1), fill=cols[s])
    elif kind == "line":
        for s in range(series):
            draw.line(
                list(zip(xs.tolist(), ys[s].tolist(), strict=True)),
                fill=cols[s],
                width=int(rng.integers(1, 4)),
            )
    else:
        for s in range(series):
            for x, y in zip(xs, ys[s], strict=True):
                draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=cols[s])
    for i in range(0, points, max(1, points // 6)):
        draw.text(
            (float(xs[i]) - 6, bottom + 4), str(int(rng.integers(1, 2030))), fill=ink, font=font
        )
    draw.text((left, 2), " ".join(rng.choice(_WORDS, int(rng.integers(1, 5)))), fill=ink, font=font)
    return np.asarray(im)


def _chart_block(job: tuple[range, int]) -> np.ndarray:
    seeds, side = job
    return np.stack([chart(s, side) for s in seeds])


def charts(seeds: range, side: int = 256, *, jobs: int = 0) -> np.ndarray:
    """Charts for each seed, stacked (n, side, side, 3) uint8; ``jobs`` processes draw
    them (0: all cores) when there are many."""
    if not len(seeds):
        return np.zeros((0, side, side, 3), np.uint8)
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(seeds) < 400:
        return _chart_block((seeds, side))
    step = -(-len(seeds) // (jobs * 4))
    blocks = [(seeds[i : i + step], side) for i in range(0, len(seeds), step)]
    with ProcessPoolExecutor(jobs) as pool:
        return np.concatenate(list(pool.map(_chart_block, blocks)))
