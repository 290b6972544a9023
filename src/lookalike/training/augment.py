"""The edits a training view goes through, batched in torch (on the GPU when there is one).

They mirror the attack suite (lookalike.evaluate.attacks) without copying its code: one
affine resampling per view does the crop (zoom in, down to 45% of each side), the paste
and the border (zoom out, the rest of the frame filled with a plain colour, another
picture of the batch or drawn leaves), the rotation (small angles, sometimes quarter
turns) and the mirror; then colour, blur, noise, stickers and captions (boxes), and JPEG
recompression simulated on 8 x 8 DCT blocks with the IJG quantisation tables.
Every random choice comes from the ``torch.Generator`` passed in, so a seed repeats a run.
"""

from __future__ import annotations

import math
from typing import Any

from lookalike.errors import require

EXTRA = "train"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

# IJG's base quantisation tables (ITU-T T.81 Annex K), luma and chroma.
_LUMA = (
    16,
    11,
    10,
    16,
    24,
    40,
    51,
    61,
    12,
    12,
    14,
    19,
    26,
    58,
    60,
    55,
    14,
    13,
    16,
    24,
    40,
    57,
    69,
    56,
    14,
    17,
    22,
    29,
    51,
    87,
    80,
    62,
    18,
    22,
    37,
    56,
    68,
    109,
    103,
    77,
    24,
    35,
    55,
    64,
    81,
    104,
    113,
    92,
    49,
    64,
    78,
    87,
    103,
    121,
    120,
    101,
    72,
    92,
    95,
    98,
    112,
    100,
    103,
    99,
)
_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    *([99] * 32),
)  # fmt: skip


def _uniform(n: int, lo: float, hi: float, gen: Any, device: Any) -> Any:
    torch = require("torch", EXTRA)
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=device)


def _chance(n: int, p: float, gen: Any, device: Any) -> Any:
    torch = require("torch", EXTRA)
    return torch.rand(n, generator=gen, device=device) < p


def geometry(images: Any, fill: Any, side: int, gen: Any) -> Any:
    """Crop / paste / border / rotate / mirror each image (N, C, S, S) into (N, C, side, side).

    ``fill`` (N, C, side, side) shows where the view reaches past the picture (a paste
    onto it, or a border)."""
    torch = require("torch", EXTRA)
    f = torch.nn.functional
    n, dev = images.shape[0], images.device
    # zoom > 1 crops (the view shows 1/zoom of each side), < 1 shrinks the picture into
    # a larger frame; half the views crop, a quarter are framed, a quarter stay whole-ish
    kind = torch.rand(n, generator=gen, device=dev)
    zoom = torch.where(
        kind < 0.5,
        _uniform(n, 1.0, 2.2, gen, dev),
        torch.where(kind < 0.75, _uniform(n, 0.4, 0.95, gen, dev), _uniform(n, 0.9, 1.1, gen, dev)),
    )
    aspect = torch.exp(_uniform(n, -0.25, 0.25, gen, dev))
    zx, zy = zoom * aspect.sqrt(), zoom / aspect.sqrt()
    # where the view's centre lands: anywhere that keeps a crop inside the picture, or
    # the picture inside the frame
    room_x = (1 - 1 / zx).abs()
    room_y = (1 - 1 / zy).abs()
    cx = _uniform(n, -1, 1, gen, dev) * room_x
    cy = _uniform(n, -1, 1, gen, dev) * room_y
    angle = torch.where(
        _chance(n, 0.3, gen, dev), _uniform(n, -0.35, 0.35, gen, dev), torch.zeros(n, device=dev)
    )
    quarter = torch.where(
        _chance(n, 0.1, gen, dev),
        torch.randint(1, 4, (n,), generator=gen, device=dev).float() * (math.pi / 2),
        torch.zeros(n, device=dev),
    )
    angle = angle + quarter
    mirror = torch.where(_chance(n, 0.2, gen, dev), -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = cos / zx * mirror
    theta[:, 0, 1] = -sin / zy
    theta[:, 1, 0] = sin / zx * mirror
    theta[:, 1, 1] = cos / zy
    theta[:, 0, 2] = cx
    theta[:, 1, 2] = cy
    grid = f.affine_grid(theta, [n, images.shape[1], side, side], align_corners=False)
    view = f.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    inside = f.grid_sample(
        torch.ones_like(images[:, :1]),
        grid,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )
    return view + (1 - inside) * fill


def composite(rgba: Any, background: Any) -> Any:
    """RGB of ``rgba`` (N, 4, H, W) in [0, 1] laid over ``background`` (N, 3, H, W)."""
    alpha = rgba[:, 3:4]
    return rgba[:, :3] * alpha + background * (1 - alpha)


def colour(x: Any, gen: Any) -> Any:
    """Brightness, contrast, saturation, gamma and greyscale, each view its own."""
    torch = require("torch", EXTRA)
    n, dev = x.shape[0], x.device
    on = _chance(n, 0.8, gen, dev).float().view(n, 1, 1, 1)
    grey = (x * torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)).sum(1, True)
    sat = torch.where(_chance(n, 0.1, gen, dev), 0.0, _uniform(n, 0.4, 1.6, gen, dev)).view(
        n, 1, 1, 1
    )
    y = grey + (x - grey) * sat
    mean = y.mean(dim=(1, 2, 3), keepdim=True)
    y = mean + (y - mean) * _uniform(n, 0.6, 1.4, gen, dev).view(n, 1, 1, 1)
    y = y + _uniform(n, -0.25, 0.25, gen, dev).view(n, 1, 1, 1)
    y = y.clamp(0, 1) ** torch.exp(_uniform(n, -0.4, 0.4, gen, dev)).view(n, 1, 1, 1)
    return on * y + (1 - on) * x


def blur(x: Any, gen: Any, p: float = 0.25) -> Any:
    """Gaussian blur (sigma up to 2.5 px) on a share ``p`` of the views."""
    torch = require("torch", EXTRA)
    f = torch.nn.functional
    n, c, h, w = x.shape
    dev = x.device
    sigma = _uniform(n, 0.3, 2.5, gen, dev)
    r = 6
    t = torch.arange(-r, r + 1, device=dev, dtype=x.dtype)
    k = torch.exp(-(t.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
    k = k / k.sum(1, keepdim=True)
    k = k.repeat_interleave(c, 0)  # (n*c, 2r+1)
    y = x.reshape(1, n * c, h, w)
    y = f.conv2d(f.pad(y, (r, r, 0, 0), mode="reflect"), k.view(n * c, 1, 1, -1), groups=n * c)
    y = f.conv2d(f.pad(y, (0, 0, r, r), mode="reflect"), k.view(n * c, 1, -1, 1), groups=n * c)
    on = _chance(n, p, gen, dev).view(n, 1, 1, 1)
    return torch.where(on, y.view(n, c, h, w), x)


def boxes(x: Any, gen: Any, p: float = 0.25) -> Any:
    """A plain box (caption bar, sticker, logo) over up to a fifth of a share of the views."""
    torch = require("torch", EXTRA)
    n, _, h, w = x.shape
    dev = x.device
    bw = _uniform(n, 0.15, 0.9, gen, dev)
    bh = _uniform(n, 0.05, 0.2, gen, dev) / bw.clamp(min=0.5)
    x0 = _uniform(n, 0, 1, gen, dev) * (1 - bw)
    y0 = _uniform(n, 0, 1, gen, dev) * (1 - bh).clamp(min=0)
    xs = torch.linspace(0, 1, w, device=dev).view(1, 1, w)
    ys = torch.linspace(0, 1, h, device=dev).view(1, h, 1)
    inside = (
        (xs >= x0.view(n, 1, 1))
        & (xs <= (x0 + bw).view(n, 1, 1))
        & (ys >= y0.view(n, 1, 1))
        & (ys <= (y0 + bh).view(n, 1, 1))
    )
    inside = inside & _chance(n, p, gen, dev).view(n, 1, 1)
    paint = torch.rand(n, 3, 1, 1, generator=gen, device=dev)
    return torch.where(inside.unsqueeze(1), paint.expand(-1, -1, h, w), x)


def noise(x: Any, gen: Any, p: float = 0.15) -> Any:
    """Gaussian noise (sigma up to 0.06) on a share of the views."""
    torch = require("torch", EXTRA)
    n, dev = x.shape[0], x.device
    sigma = (_uniform(n, 0.005, 0.06, gen, dev) * _chance(n, p, gen, dev)).view(n, 1, 1, 1)
    return x + sigma * torch.randn(x.shape, generator=gen, device=dev)


def _dct_matrix(device: Any) -> Any:
    torch = require("torch", EXTRA)
    k = torch.arange(8, device=device, dtype=torch.float32)
    m = torch.cos((2 * k.view(1, 8) + 1) * k.view(8, 1) * math.pi / 16) * math.sqrt(2 / 8)
    m[0] = m[0] / math.sqrt(2)
    return m


def _tables(quality: Any) -> tuple[Any, Any]:
    torch = require("torch", EXTRA)
    q = quality.clamp(1, 100)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q).view(-1, 1, 1)
    out = []
    for base in (_LUMA, _CHROMA):
        t = torch.tensor(base, device=quality.device, dtype=torch.float32).view(1, 8, 8)
        out.append(((t * scale + 50) // 100).clamp(1, 255))
    return out[0], out[1]


def jpeg(x: Any, gen: Any, p: float = 0.4, qualities: tuple[float, float] = (15, 90)) -> Any:
    """JPEG recompression at a quality drawn from ``qualities`` on a share ``p`` of the
    views: YCbCr, chroma halved, 8 x 8 DCT, IJG quantisation, and back (H and W must be
    multiples of 16)."""
    torch = require("torch", EXTRA)
    f = torch.nn.functional
    n, _, h, w = x.shape
    dev = x.device
    x = x.float()
    rgb = x.clamp(0, 1) * 255
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    # chroma at half resolution, as libjpeg's default 4:2:0
    cb = f.interpolate(f.avg_pool2d(cb.unsqueeze(1), 2), scale_factor=2, mode="nearest")[:, 0]
    cr = f.interpolate(f.avg_pool2d(cr.unsqueeze(1), 2), scale_factor=2, mode="nearest")[:, 0]
    quality = _uniform(n, *qualities, gen, dev)
    luma_q, chroma_q = _tables(quality)
    d = _dct_matrix(dev)

    def quantise(plane: Any, table: Any, shift: float) -> Any:
        blocks = (plane - shift).view(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)
        coef = d @ blocks @ d.T
        t = table.view(n, 1, 1, 8, 8)
        back = d.T @ (torch.round(coef / t) * t) @ d
        return back.permute(0, 1, 3, 2, 4).reshape(n, h, w) + shift

    y = quantise(y, luma_q, 128.0)
    cb = quantise(cb, chroma_q, 0.0)
    cr = quantise(cr, chroma_q, 0.0)
    out = (
        torch.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], dim=1)
        / 255
    )
    on = _chance(n, p, gen, dev).view(n, 1, 1, 1)
    return torch.where(on, out.clamp(0, 1), x)


def normalise(x: Any) -> Any:
    """ImageNet's per-channel mean and std, what lookalike.methods.embed feeds the model."""
    torch = require("torch", EXTRA)
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x.clamp(0, 1) - mean) / std


def views(rgba: Any, background: Any, fill: Any, side: int, gen: Any) -> Any:
    """One edited, normalised view (N, 3, side, side) of each picture ``rgba`` (N, 4, S, S)
    in [0, 1]: laid over ``background`` where it is transparent, framed by ``fill``."""
    x = composite(rgba, background)
    x = geometry(x, fill, side, gen)
    x = colour(x, gen)
    x = blur(x, gen)
    x = boxes(x, gen)
    x = noise(x, gen)
    x = jpeg(x, gen)
    return normalise(x)
