"""The attack suite: the edits a copy goes through before someone asks "is this the same picture?".

Each attack turns a Pillow image into an edited copy at one of three severities (mild,
medium, strong). The suite follows the transformations of the DISC21 benchmark (Douze et
al., "The 2021 Image Similarity Dataset and Challenge", arXiv:2106.09672, section 3.3),
reduced to the ones Pillow and numpy do well:

* family ``mild`` -- the picture still fills the frame in place, a global fingerprint
  should cope: recompression, scaling, colour, brightness, contrast, greyscale, blur,
  noise, a caption, an aspect change (stretch);
* family ``geometric`` -- the picture is moved in the frame, global fingerprints are
  expected to fail and local features to take over: crops (down to half of each side,
  anywhere, at a corner or in the centre),
  rotations by 90/180/270 degrees and by small angles, mirror images, the picture pasted
  into another one, and the two frames -- a border and a screenshot-like window -- which
  shrink and shift the picture inside a larger canvas (a paste onto a plain background).

Every attack is deterministic given ``seed``: the random choices (offsets, signs, colours,
texts) come from a ``numpy.random.Generator`` seeded by (seed, attack, severity), so a
benchmark can be rebuilt bit for bit (same Pillow version, same font).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

Severity = Literal["mild", "medium", "strong"]
Family = Literal["mild", "geometric"]
SEVERITIES: tuple[Severity, ...] = ("mild", "medium", "strong")

_CAPTIONS = (
    "when the code works first time",
    "SALE -50%",
    "not a copy, I promise",
    "Monday again",
    "original content",
    "看图说话",
    "best wallpaper 2024",
    "do not repost",
)


@dataclass(frozen=True)
class Attack:
    """One edit: ``apply(image, param, rng)`` with the parameter chosen by severity."""

    name: str
    family: Family
    description: str
    params: dict[str, object]
    apply: Callable[[Image.Image, object, np.random.Generator], Image.Image]

    def __call__(
        self, image: Image.Image, severity: Severity = "medium", seed: int = 0
    ) -> Image.Image:
        """The edited copy of ``image`` (the input is not modified)."""
        if severity not in self.params:
            raise ValueError(f"unknown severity {severity!r}; choose from {SEVERITIES}")
        return self.apply(_rgb(image), self.params[severity], attack_rng(seed, self.name, severity))


def attack_rng(seed: int, name: str, severity: str) -> np.random.Generator:
    """The random generator of one (seed, attack, severity): stable across runs and machines."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), zlib.crc32(severity.encode())])


def _rgb(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGB" else image.convert("RGB")


@cache
def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font (no download, same glyphs everywhere); DejaVu Sans
    Bold when Pillow lacks FreeType and the system has it; else the bitmap default."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):
        try:
            return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
        except OSError:
            return ImageFont.load_default()


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(0, 256, 3))
    return (r, g, b)


# --- mild: the layout survives ----------------------------------------------------------


def _jpeg(im: Image.Image, quality: object, rng: np.random.Generator) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=int(quality))  # type: ignore[call-overload]
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _scale(im: Image.Image, factor: object, rng: np.random.Generator) -> Image.Image:
    f = float(factor)  # type: ignore[arg-type]
    size = (max(16, round(im.width * f)), max(16, round(im.height * f)))
    return im.resize(size, Image.Resampling.BILINEAR)


def _colour_shift(im: Image.Image, p: object, rng: np.random.Generator) -> Image.Image:
    saturation, hue = p  # type: ignore[misc]
    out = ImageEnhance.Color(im).enhance(float(saturation))
    hsv = np.asarray(out.convert("HSV")).copy()
    shift = round(float(hue) * 256) * (1 if rng.random() < 0.5 else -1)
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + shift) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def _brightness(im: Image.Image, delta: object, rng: np.random.Generator) -> Image.Image:
    sign = 1 if rng.random() < 0.5 else -1
    return ImageEnhance.Brightness(im).enhance(1.0 + sign * float(delta))  # type: ignore[arg-type]


def _contrast(im: Image.Image, delta: object, rng: np.random.Generator) -> Image.Image:
    sign = 1 if rng.random() < 0.5 else -1
    return ImageEnhance.Contrast(im).enhance(1.0 + sign * float(delta))  # type: ignore[arg-type]


def _greyscale(im: Image.Image, bits: object, rng: np.random.Generator) -> Image.Image:
    grey = im.convert("L")
    if int(bits) < 8:  # type: ignore[call-overload]
        grey = ImageOps.posterize(grey, int(bits))  # type: ignore[call-overload]
    return grey.convert("RGB")


def _blur(im: Image.Image, fraction: object, rng: np.random.Generator) -> Image.Image:
    radius = max(0.5, float(fraction) * min(im.size))  # type: ignore[arg-type]
    return im.filter(ImageFilter.GaussianBlur(radius))


def _noise(im: Image.Image, sigma: object, rng: np.random.Generator) -> Image.Image:
    a = np.asarray(im, dtype=np.float32)
    noisy = a + rng.normal(0.0, float(sigma), a.shape).astype(np.float32)  # type: ignore[arg-type]
    return Image.fromarray(np.clip(noisy + 0.5, 0, 255).astype(np.uint8), "RGB")


def _caption(im: Image.Image, fraction: object, rng: np.random.Generator) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    size = max(8, round(float(fraction) * im.height))  # type: ignore[arg-type]
    text = _CAPTIONS[int(rng.integers(len(_CAPTIONS)))]
    f = font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=f, stroke_width=max(1, size // 12))
    tw, th = right - left, bottom - top
    x = max(0, round((im.width - tw) * rng.uniform(0.1, 0.9)))
    y = max(0, round((im.height - th) * (0.92 if rng.random() < 0.5 else 0.06)))
    draw.text(
        (x - left, y - top),
        text,
        font=f,
        fill=(255, 255, 255),
        stroke_width=max(1, size // 12),
        stroke_fill=(0, 0, 0),
    )
    return out


def _border(im: Image.Image, fraction: object, rng: np.random.Generator) -> Image.Image:
    pad = max(1, round(float(fraction) * min(im.size)))  # type: ignore[arg-type]
    return ImageOps.expand(im, border=pad, fill=_colour(rng))


def _screenshot(im: Image.Image, fraction: object, rng: np.random.Generator) -> Image.Image:
    """The picture in a window on a desktop: title bar, buttons, a task bar."""
    w, h = im.size
    canvas = Image.new("RGB", (w, h), _colour(rng))
    draw = ImageDraw.Draw(canvas)
    bar = max(6, round(0.05 * h))
    taskbar = max(6, round(0.06 * h))
    win_w = round(float(fraction) * w)  # type: ignore[arg-type]
    win_h = min(h - taskbar - bar, round(win_w * h / w))
    win_w = round(win_h * w / h)
    x0 = int(rng.integers(0, max(1, w - win_w)))
    y0 = int(rng.integers(0, max(1, h - taskbar - bar - win_h)))
    draw.rectangle((x0 - 1, y0 - 1, x0 + win_w, y0 + bar + win_h), fill=(40, 40, 40))
    draw.rectangle((x0, y0, x0 + win_w - 1, y0 + bar - 1), fill=(222, 222, 222))
    r = bar // 4
    for k, c in enumerate(((255, 95, 86), (255, 189, 46), (39, 201, 63))):
        cx, cy = x0 + bar // 2 + k * 3 * r, y0 + bar // 2
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)
    draw.text(
        (x0 + 4 * bar, y0 + bar // 5), "IMG_2047.jpg", font=font(max(6, bar * 3 // 5)), fill=0
    )
    canvas.paste(im.resize((win_w, win_h), Image.Resampling.BILINEAR), (x0, y0 + bar))
    draw.rectangle((0, h - taskbar, w, h), fill=(30, 30, 38))
    return canvas


def _aspect(im: Image.Image, factor: object, rng: np.random.Generator) -> Image.Image:
    f = float(factor)  # type: ignore[arg-type]
    w, h = im.size
    size = (round(w * f), h) if rng.random() < 0.5 else (w, round(h * f))
    return im.resize(size, Image.Resampling.BILINEAR)


# --- geometric: the layout changes ----------------------------------------------------------


def _crop_box(w: int, h: int, side: float, rng: np.random.Generator) -> tuple[int, int, int, int]:
    cw, ch = max(8, round(w * side)), max(8, round(h * side))
    x = int(rng.integers(0, w - cw + 1))
    y = int(rng.integers(0, h - ch + 1))
    return (x, y, x + cw, y + ch)


def _crop(im: Image.Image, side: object, rng: np.random.Generator) -> Image.Image:
    return im.crop(_crop_box(*im.size, float(side), rng))  # type: ignore[arg-type]


def _corner_crop(im: Image.Image, side: object, rng: np.random.Generator) -> Image.Image:
    """A crop anchored at one corner (chosen by ``rng``), keeping ``side`` of each side."""
    w, h = im.size
    cw, ch = max(8, round(w * float(side))), max(8, round(h * float(side)))  # type: ignore[arg-type]
    corner = int(rng.integers(4))
    x = 0 if corner in (0, 2) else w - cw
    y = 0 if corner in (0, 1) else h - ch
    return im.crop((x, y, x + cw, y + ch))


def _centre_crop(im: Image.Image, side: object, rng: np.random.Generator) -> Image.Image:
    """The central part of the picture, keeping ``side`` of each side."""
    w, h = im.size
    cw, ch = max(8, round(w * float(side))), max(8, round(h * float(side)))  # type: ignore[arg-type]
    x, y = (w - cw) // 2, (h - ch) // 2
    return im.crop((x, y, x + cw, y + ch))


def _rotate90(im: Image.Image, angle: object, rng: np.random.Generator) -> Image.Image:
    return im.rotate(int(angle), expand=True)  # type: ignore[call-overload]


def _rotate(im: Image.Image, angle: object, rng: np.random.Generator) -> Image.Image:
    sign = 1 if rng.random() < 0.5 else -1
    fill = (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255)
    return im.rotate(
        sign * float(angle),  # type: ignore[arg-type]
        resample=Image.Resampling.BILINEAR,
        expand=True,
        fillcolor=fill,
    )


def _flip(im: Image.Image, how: object, rng: np.random.Generator) -> Image.Image:
    if how == "mirror":
        return ImageOps.mirror(im)
    if how == "mirror+crop":
        return ImageOps.mirror(im.crop(_crop_box(*im.size, 0.8, rng)))
    return ImageOps.flip(im)  # upside down


def background(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """Another picture to paste into: a smooth random colour field with random shapes.

    Synthetic on purpose: a real photo as background would itself be a reference (or
    match one), and the ground truth would have to count two sources per query.
    """
    grid = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    bg = Image.fromarray(grid, "RGB").resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(bg)
    w, h = size
    for _ in range(12):
        x0, x1 = sorted(int(v) for v in rng.integers(0, w, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, h, 2))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=_colour(rng))
        else:
            draw.rectangle((x0, y0, x1, y1), fill=_colour(rng))
    return bg


def _paste(im: Image.Image, fraction: object, rng: np.random.Generator) -> Image.Image:
    w, h = im.size
    bg = background((w, h), rng)
    f = float(fraction)  # type: ignore[arg-type]
    small = im.resize((max(8, round(w * f)), max(8, round(h * f))), Image.Resampling.BILINEAR)
    x = int(rng.integers(0, w - small.width + 1))
    y = int(rng.integers(0, h - small.height + 1))
    bg.paste(small, (x, y))
    return bg


def _sev(mild: object, medium: object, strong: object) -> dict[str, object]:
    return {"mild": mild, "medium": medium, "strong": strong}


#: The suite, by name. Parameters per severity are in ``params`` (and the table below).
ATTACKS: dict[str, Attack] = {
    a.name: a
    for a in (
        Attack(
            "jpeg", "mild", "JPEG recompression at quality 60 / 30 / 10", _sev(60, 30, 10), _jpeg
        ),
        Attack(
            "scale",
            "mild",
            "downscale to 50% / 25% / 12% of each side",
            _sev(0.5, 0.25, 0.12),
            _scale,
        ),
        Attack(
            "colour",
            "mild",
            "saturation x1.3 / x1.6 / x0.3 and hue rotation 3% / 8% / 15%",
            _sev((1.3, 0.03), (1.6, 0.08), (0.3, 0.15)),
            _colour_shift,
        ),
        Attack(
            "brightness",
            "mild",
            "brightness x(1 +- 0.15 / 0.3 / 0.5)",
            _sev(0.15, 0.3, 0.5),
            _brightness,
        ),
        Attack(
            "contrast", "mild", "contrast x(1 +- 0.2 / 0.4 / 0.6)", _sev(0.2, 0.4, 0.6), _contrast
        ),
        Attack(
            "greyscale", "mild", "greyscale; 8 / 3 / 2 bits per pixel", _sev(8, 3, 2), _greyscale
        ),
        Attack(
            "blur",
            "mild",
            "Gaussian blur, radius 0.3% / 0.8% / 2% of the short side",
            _sev(0.003, 0.008, 0.02),
            _blur,
        ),
        Attack(
            "noise",
            "mild",
            "Gaussian noise, sigma 5 / 12 / 25 grey levels",
            _sev(5, 12, 25),
            _noise,
        ),
        Attack(
            "caption",
            "mild",
            "a caption in 6% / 10% / 16% of the height",
            _sev(0.06, 0.10, 0.16),
            _caption,
        ),
        Attack(
            "border",
            "geometric",
            "a plain border of 5% / 12% / 25% of the short side",
            _sev(0.05, 0.12, 0.25),
            _border,
        ),
        Attack(
            "screenshot",
            "geometric",
            "in a window frame on a desktop, 90% / 75% / 55% wide",
            _sev(0.9, 0.75, 0.55),
            _screenshot,
        ),
        Attack(
            "aspect",
            "mild",
            "stretched x1.15 / x1.35 / x1.7 along one axis",
            _sev(1.15, 1.35, 1.7),
            _aspect,
        ),
        Attack(
            "crop",
            "geometric",
            "crop keeping 90% / 70% / 50% of each side (81/49/25% area)",
            _sev(0.9, 0.7, 0.5),
            _crop,
        ),
        Attack(
            "corner",
            "geometric",
            "crop at a corner keeping 70% / 55% / 40% of each side",
            _sev(0.7, 0.55, 0.4),
            _corner_crop,
        ),
        Attack(
            "centre",
            "geometric",
            "central crop keeping 90% / 80% / 60% of each side",
            _sev(0.9, 0.8, 0.6),
            _centre_crop,
        ),
        Attack(
            "rotate90",
            "geometric",
            "rotation by 180 / 90 / 270 degrees",
            _sev(180, 90, 270),
            _rotate90,
        ),
        Attack(
            "rotate",
            "geometric",
            "rotation by +-3 / 8 / 20 degrees, corners filled",
            _sev(3, 8, 20),
            _rotate,
        ),
        Attack(
            "flip",
            "geometric",
            "mirror; mirror of an 80% crop; upside down",
            _sev("mirror", "mirror+crop", "vertical"),
            _flip,
        ),
        Attack(
            "paste",
            "geometric",
            "pasted into another picture at 80% / 60% / 40% size",
            _sev(0.8, 0.6, 0.4),
            _paste,
        ),
    )
}
FAMILIES: dict[str, tuple[str, ...]] = {
    f: tuple(n for n, a in ATTACKS.items() if a.family == f) for f in ("mild", "geometric")
}


def apply_attack(
    image: Image.Image, name: str, severity: Severity = "medium", seed: int = 0
) -> Image.Image:
    """Apply the attack called ``name`` at ``severity``; deterministic given ``seed``."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; choose from: {', '.join(ATTACKS)}")
    return ATTACKS[name](image, severity, seed)
