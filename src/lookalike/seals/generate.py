"""A generator of seal impressions (印章印文): designs, genuine impressions and forgeries.

No seal data set can be had here, so the seal verifiers are trained and measured on
generated seals. A :class:`SealDesign` is the engraved seal itself, drawn from a seed:

* round (圆章): a ring border, the organisation's name along the upper arc, a
  five-pointed star in the middle and sometimes a line of text under it (合同专用章, ...);
* square (方章): 2x2 or 3x3 characters in a frame, 朱文 (red characters) or 白文 (white
  characters cut out of a red square).

:func:`impression` stamps a design the way a real stamp varies from one print to the
next: ink colour, uneven pressure and ink gaps, rotation (±15°), scale and shift, a faded
or missing sector, paper colour and texture, faint printed text under the seal, blur,
scan noise and JPEG. :func:`forgery` returns a design that is close but not the same
seal: one character changed, another font or stroke weight, other spacing or arc span,
another border, another star.

Glyphs come from the CJK fonts ``fc-list :lang=zh`` finds (Debian: fonts-wqy-microhei,
fonts-noto-cjk, fonts-arphic-*); without one, :func:`cjk_fonts` raises
:class:`~lookalike.errors.UsageError` saying which package to install.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lookalike.errors import UsageError

Shape = Literal["round", "square"]

#: The kinds of forgery :func:`forgery` makes.
FORGERY_KINDS = ("character", "font", "spacing", "border", "star")

#: Side of the square canvas a design is drawn on (pixels) before it is stamped.
MASK_SIZE = 384

#: Default side of an impression (pixels).
IMPRESSION_SIZE = 320

CITIES = (
    "北京",
    "上海",
    "广州",
    "深圳",
    "天津",
    "重庆",
    "南京",
    "杭州",
    "成都",
    "武汉",
    "西安",
    "苏州",
    "长沙",
    "郑州",
    "济南",
    "青岛",
    "厦门",
    "宁波",
    "合肥",
    "福州",
    "昆明",
    "沈阳",
)
WORDS = (
    "华东南西北中国人民科技贸易实业发展集团建设工程投资管理咨询服务电子信息文化传媒物流"
    "食品医药机械制造环保能源农业商务教育研究设计新兴达成恒泰安信和盛丰源通宏远美佳利"
    "明光大天力鑫金银海山川林园星辰立德诚益鼎祥瑞嘉禾永昌隆兴旺盈创智云数网络软件材料"
)
SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司", "研究所", "委员会", "事务所", "经营部")
BOTTOM_LINES = ("", "合同专用章", "财务专用章", "发票专用章", "人事专用章", "公章", "业务专用章")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
#: Every character a design or a forgery may use.
POOL = "".join(
    dict.fromkeys("".join((*CITIES, WORDS, SURNAMES, *SUFFIXES, *BOTTOM_LINES, "之印信")))
)

_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")


@functools.cache
def cjk_fonts() -> tuple[str, ...]:
    """Paths of the installed fonts with Chinese glyphs, sorted; UsageError when none.

    Asks fontconfig (``fc-list :lang=zh file``) and falls back to looking for the Debian
    CJK font files when fc-list is missing.
    """
    found: set[str] = set()
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20
        ).stdout
        found = {line.split(":")[0].strip() for line in out.splitlines() if line.strip()}
    except (OSError, subprocess.SubprocessError):
        for folder in _FONT_DIRS:
            for pattern in ("wqy*.tt?", "Noto*CJK*.tt?", "uming.tt?", "ukai.tt?"):
                found.update(str(p) for p in Path(folder).rglob(pattern))
    fonts = tuple(sorted(p for p in found if p.lower().endswith((".ttf", ".ttc", ".otf"))))
    if not fonts:
        raise UsageError(
            "no CJK font found (fc-list :lang=zh lists none): install fonts-wqy-microhei "
            "or fonts-noto-cjk"
        )
    return fonts


@dataclass(frozen=True)
class SealDesign:
    """One engraved seal: everything that is the same in every genuine impression.

    Sizes are fractions of the seal's outer diameter (round) or side (square).
    ``forged`` names the kind of change when the design is a forgery of another.
    """

    seed: int
    shape: Shape
    text: str  # round: along the arc; square: the characters, read column by column
    bottom: str = ""  # round: the line under the star
    font: int = 0  # index into cjk_fonts() (modulo their number)
    stroke: int = 0  # extra stroke width in pixels at MASK_SIZE (bolder glyphs)
    glyph_scale: float = 1.0  # glyph height relative to the layout's slot
    aspect: float = 0.8  # glyph width / height
    border: float = 0.045  # border width
    inner_ring: bool = False  # round: a thin second ring inside the border
    span: float = 240.0  # round: degrees of arc the text covers
    star: float = 0.17  # round: the star's outer radius
    grid: int = 2  # square: characters per row and column
    fill: float = 0.86  # square: share of a cell a glyph fills (spacing)
    white: bool = False  # square: 白文 (white characters cut into red)
    forged: str = ""


def design(seed: int) -> SealDesign:
    """The seal design of ``seed`` (deterministic: one seed, one design)."""
    rng = np.random.default_rng(seed)
    n_fonts = len(cjk_fonts())
    font, stroke = int(rng.integers(n_fonts)), int(rng.choice([0, 0, 1, 2]))
    scale = float(rng.uniform(0.9, 1.05))
    if rng.random() < 0.6:
        name = CITIES[rng.integers(len(CITIES))] + _pick(rng, WORDS, int(rng.integers(2, 6)))
        name += SUFFIXES[rng.integers(len(SUFFIXES))]
        bottom = BOTTOM_LINES[rng.integers(len(BOTTOM_LINES))]
        return SealDesign(
            shape="round",
            text=name,
            bottom=bottom,
            aspect=float(rng.uniform(0.65, 0.9)),
            border=float(rng.uniform(0.03, 0.06)),
            inner_ring=bool(rng.random() < 0.25),
            span=float(min(300.0, rng.uniform(190, 250) + 4 * max(0, len(name) - 10))),
            star=float(rng.uniform(0.13, 0.2)),
            seed=seed,
            font=font,
            stroke=stroke,
            glyph_scale=scale,
        )
    grid = 2 if rng.random() < 0.6 else 3
    if grid == 2:
        end = "之印" if rng.random() < 0.5 else "印信"
        text = _pick(rng, SURNAMES, 1) + _pick(rng, WORDS, 1) + end
    else:
        text = CITIES[rng.integers(len(CITIES))] + _pick(rng, WORDS, 3)
        text += BOTTOM_LINES[1 + rng.integers(4)][:4]
    return SealDesign(
        shape="square",
        text=text,
        aspect=1.0,
        border=float(rng.uniform(0.04, 0.08)),
        grid=grid,
        fill=float(rng.uniform(0.8, 0.92)),
        white=bool(rng.random() < 0.4),
        seed=seed,
        font=font,
        stroke=stroke,
        glyph_scale=scale,
    )


def _pick(rng: np.random.Generator, chars: str, n: int) -> str:
    return "".join(chars[i] for i in rng.integers(len(chars), size=n))


def forgery(seal: SealDesign, rng: np.random.Generator, kind: str | None = None) -> SealDesign:
    """A design close to ``seal`` but not the same seal; ``kind`` one of FORGERY_KINDS
    (default: drawn at random; "star" only applies to round seals, else "border")."""
    kind = kind or str(rng.choice(FORGERY_KINDS))
    if kind not in FORGERY_KINDS:
        raise UsageError(f"unknown forgery kind {kind!r}; choose from {', '.join(FORGERY_KINDS)}")
    if kind == "star" and seal.shape != "round":
        kind = "border"
    change: dict[str, object] = {}
    sign = 1 if rng.random() < 0.5 else -1
    if kind == "character":
        i = int(rng.integers(len(seal.text)))
        others = POOL.replace(seal.text[i], "")
        change["text"] = seal.text[:i] + others[rng.integers(len(others))] + seal.text[i + 1 :]
    elif kind == "font":
        n_fonts = len(cjk_fonts())
        options = ["stroke", "scale", "aspect"] + (["font"] if n_fonts > 1 else [])
        what = rng.choice(options)
        if what == "font":
            change["font"] = (seal.font + int(rng.integers(1, n_fonts))) % n_fonts
        elif what == "stroke":
            change["stroke"] = seal.stroke + 2 if seal.stroke < 2 else seal.stroke - 2
        elif what == "scale":
            change["glyph_scale"] = seal.glyph_scale * (1 + sign * rng.uniform(0.1, 0.16))
        else:
            aspect = seal.aspect * (1 + sign * rng.uniform(0.15, 0.22))
            change["aspect"] = aspect if aspect <= 1.05 else seal.aspect * 0.8
    elif kind == "spacing":
        if seal.shape == "round":
            change["span"] = seal.span + sign * rng.uniform(25, 40) if seal.span < 270 else 220.0
        else:
            fill = seal.fill + sign * rng.uniform(0.08, 0.12)
            change["fill"] = fill if 0.6 < fill < 0.98 else seal.fill - 0.1
    elif kind == "border":
        if seal.shape == "round" and rng.random() < 0.4:
            change["inner_ring"] = not seal.inner_ring
        else:
            change["border"] = seal.border * (rng.uniform(1.6, 2.0) if sign > 0 else 0.55)
    else:  # star
        change["star"] = seal.star * (rng.uniform(1.25, 1.4) if sign > 0 else 0.72)
    return dataclasses.replace(seal, forged=kind, **change)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4096)
def _glyph(char: str, font: int, height: int, stroke: int, aspect: float) -> np.ndarray:
    """One character as a uint8 mask ``height`` pixels tall and ``aspect * height`` wide."""
    face = ImageFont.truetype(cjk_fonts()[font % len(cjk_fonts())], size=2 * height)
    im = Image.new("L", (3 * height, 3 * height), 0)
    ImageDraw.Draw(im).text(
        (1.5 * height, 1.5 * height),
        char,
        fill=255,
        font=face,
        anchor="mm",
        stroke_width=2 * stroke,
        stroke_fill=255,
    )
    box = im.getbbox() or (0, 0, 1, 1)
    width = max(1, round(aspect * height))
    return np.asarray(im.crop(box).resize((width, height), Image.Resampling.LANCZOS))


def _stamp_glyph(
    canvas: Image.Image,
    glyph: np.ndarray,
    centre: tuple[float, float],
    angle: float = 0.0,
    ink: int = 255,
) -> None:
    im = Image.fromarray(glyph)
    if angle:
        im = im.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    x = round(centre[0] - im.width / 2)
    y = round(centre[1] - im.height / 2)
    canvas.paste(ink, (x, y, x + im.width, y + im.height), mask=im)


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    angles = np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, r, r * 0.382)
    xs, ys = cx + radii * np.cos(angles), cy - radii * np.sin(angles)
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


@functools.lru_cache(maxsize=256)
def render(seal: SealDesign, size: int = MASK_SIZE) -> np.ndarray:
    """The ideal ink of ``seal`` as a ``size`` x ``size`` uint8 mask (255 = ink)."""
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    c = size / 2
    outer = 0.47 * size
    bw = max(2.0, seal.border * 2 * outer)
    if seal.shape == "round":
        draw.ellipse((c - outer, c - outer, c + outer, c + outer), outline=255, width=round(bw))
        inside = outer - bw
        if seal.inner_ring:
            r = inside - 0.03 * size
            thin = max(2, round(0.008 * size))
            draw.ellipse((c - r, c - r, c + r, c + r), outline=255, width=thin)
            inside = r - 0.01 * size
        height = round(seal.glyph_scale * 0.25 * outer)
        radius = inside - 0.012 * size - height / 2
        n = len(seal.text)
        angles = np.linspace(-seal.span / 2, seal.span / 2, n) if n > 1 else np.zeros(1)
        for ch, a in zip(seal.text, angles, strict=True):
            g = _glyph(ch, seal.font, height, seal.stroke, seal.aspect)
            t = np.radians(a)
            _stamp_glyph(canvas, g, (c + radius * np.sin(t), c - radius * np.cos(t)), -float(a))
        draw.polygon(_star(c, c - 0.02 * size, seal.star * 2 * outer), fill=255)
        if seal.bottom:
            h = round(seal.glyph_scale * 0.16 * outer)
            step = h * 1.0
            x0 = c - step * (len(seal.bottom) - 1) / 2
            for i, ch in enumerate(seal.bottom):
                g = _glyph(ch, seal.font, h, seal.stroke, min(1.0, seal.aspect + 0.1))
                _stamp_glyph(canvas, g, (x0 + i * step, c + 0.52 * outer))
        return np.asarray(canvas)
    half = outer * 0.95
    box = (c - half, c - half, c + half, c + half)
    if seal.white:
        draw.rectangle(box, fill=255)
    else:
        draw.rectangle(box, outline=255, width=round(bw))
    inner = 2 * (half - bw - 0.02 * size)
    cell = inner / seal.grid
    height = round(cell * seal.fill * min(1.0, seal.glyph_scale))
    for i, ch in enumerate(seal.text[: seal.grid * seal.grid]):
        col, row = divmod(i, seal.grid)  # read top to bottom, right to left
        x = c + inner / 2 - (col + 0.5) * cell
        y = c - inner / 2 + (row + 0.5) * cell
        g = _glyph(ch, seal.font, height, seal.stroke, seal.aspect)
        _stamp_glyph(canvas, g, (x, y), ink=0 if seal.white else 255)
    return np.asarray(canvas)


#: Seeds of the splits: training below VALIDATION_SEEDS, validation from it, test (the
#: benchmark) from TEST_SEEDS. A different design is drawn OTHER_DESIGN seeds away.
VALIDATION_SEEDS = 500_000
TEST_SEEDS = 1_000_000
OTHER_DESIGN = 250_000


def trial_pairs(seed: int) -> list[tuple[Image.Image, Image.Image, str]]:
    """The pairs one design gives a benchmark, as (A, B, kind): "genuine" (two impressions
    of the design), one per forgery kind (an impression of it and one of a forgery) and
    "other" (an impression of it and one of another design)."""
    rng = np.random.default_rng([seed, 1])
    seal = design(seed)
    first = impression(seal, rng)
    out = [(first, impression(seal, rng), "genuine")]
    kinds = [k for k in FORGERY_KINDS if k != "star" or seal.shape == "round"]
    out += [(first, impression(forgery(seal, rng, k), rng), k) for k in kinds]
    out.append((first, impression(design(seed + OTHER_DESIGN), rng), "other"))
    return out


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Zero-mean, unit-ish noise varying over about ``cells`` cells across the image."""
    grid = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)


def _paper(rng: np.random.Generator, size: int) -> np.ndarray:
    """White or cream paper with fibre texture, sometimes printed text lines under the seal."""
    tint = np.array([rng.uniform(238, 255), rng.uniform(232, 252), rng.uniform(215, 248)])
    fibre = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), 0.8)
    paper = tint[None, None, :] + (rng.uniform(1, 5) * fibre)[..., None]
    if rng.random() < 0.4:
        text = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(text)
        face = ImageFont.truetype(cjk_fonts()[0], size=int(rng.integers(12, 20)))
        pitch = int(rng.integers(26, 44))
        grey = float(rng.uniform(60, 170))
        for y in range(int(rng.integers(0, pitch)), size, pitch):
            line = _pick(rng, POOL, int(rng.integers(8, 30)))
            draw.text((float(rng.integers(-10, 40)), y), line, fill=255, font=face)
        paper *= (1 - (grey / 255) * np.asarray(text, np.float32) / 255)[..., None]
    return paper.astype(np.float32)


def impression(
    seal: SealDesign, rng: np.random.Generator, size: int = IMPRESSION_SIZE
) -> Image.Image:
    """One stamped-and-scanned impression of ``seal``: an RGB image ``size`` pixels square."""
    mask = render(seal).astype(np.float32) / 255
    press = rng.uniform(-1, 1)  # heavy pressure: thicker strokes; light: thinner
    if abs(press) > 0.5:
        kernel = np.ones((3, 3), np.uint8)
        mask = cv2.dilate(mask, kernel) if press > 0 else cv2.erode(mask, kernel)
    angle = rng.uniform(-15, 15)
    scale = rng.uniform(0.62, 0.86) * size / MASK_SIZE
    shift = rng.uniform(-0.04, 0.04, 2) * size
    m = cv2.getRotationMatrix2D((MASK_SIZE / 2, MASK_SIZE / 2), angle, scale)
    m[:, 2] += size / 2 - MASK_SIZE / 2 + shift
    ink = cv2.warpAffine(mask, m, (size, size), flags=cv2.INTER_AREA)
    ink = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.4, 0.9))
    # uneven pressure: a low-frequency field and a tilt of the stamp
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    theta = rng.uniform(0, 2 * np.pi)
    tilt = rng.uniform(0, 0.6) * (xx * np.cos(theta) + yy * np.sin(theta))
    field = 0.92 + 0.12 * _smooth_noise(rng, size, 4) + tilt
    # ink gaps: where mid-frequency noise is low the ink did not take
    gaps = _smooth_noise(rng, size, int(rng.integers(12, 30)))
    field *= np.clip((gaps - rng.uniform(-2.4, -1.2)) * 1.5, 0.1, 1)
    if rng.random() < 0.35:  # partial print: a faded or missing sector
        centre = np.arctan2(yy - shift[1] / size, xx - shift[0] / size)
        mid, width = rng.uniform(-np.pi, np.pi), rng.uniform(0.5, 1.8)
        off = np.abs((centre - mid + np.pi) % (2 * np.pi) - np.pi)
        fade = np.clip((off - width / 2) / 0.3, 0, 1)
        field *= rng.uniform(0, 0.4) + (1 - rng.uniform(0, 0.4)) * fade
    grain = 1 + rng.uniform(0.05, 0.2) * rng.standard_normal((size, size)).astype(np.float32)
    alpha = np.clip(ink * field * grain, 0, 1) * rng.uniform(0.8, 1.0)
    colour = np.array([rng.uniform(175, 235), rng.uniform(10, 70), rng.uniform(20, 85)], np.float32)
    out = _paper(rng, size) * (1 - alpha[..., None] * (1 - colour / 255))
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.0))
    out = out * rng.uniform(0.92, 1.04) + rng.normal(0, rng.uniform(1, 5), out.shape)
    im = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=int(rng.integers(55, 96)))
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")
