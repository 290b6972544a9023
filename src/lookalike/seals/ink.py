"""Red ink out of a scan: how red each pixel is, the ink mask, and the seal's crop.

Seal ink is red; paper is white or cream and printed text is grey or black, so
"red minus the larger of green and blue" is high on ink and near zero elsewhere (black
text under the seal included). Otsu's threshold on that redness splits ink from paper.
Both verifiers start here.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

#: Redness below this is never ink, whatever Otsu says (a scan with no red at all).
MIN_REDNESS = 24


def redness(image: Image.Image | np.ndarray) -> np.ndarray:
    """How red each pixel is: R - max(G, B), clipped to 0..255, as uint8."""
    rgb = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    r = rgb[..., 0].astype(np.int16)
    other = np.maximum(rgb[..., 1], rgb[..., 2]).astype(np.int16)
    return np.clip(r - other, 0, 255).astype(np.uint8)


def ink_mask(red: np.ndarray) -> np.ndarray:
    """Pixels of ink (bool) in a redness map: Otsu's threshold, never below MIN_REDNESS."""
    level, _ = cv2.threshold(red, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return red > max(float(level), MIN_REDNESS)


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The square (x, y, side, side) around the ink, centred on its bounding box; None
    when there is no ink. Specks far from the seal are ignored by taking the 0.5 and
    99.5 percentiles of the ink's coordinates rather than the extremes."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 20:
        return None
    x0, x1 = np.percentile(xs, [0.5, 99.5])
    y0, y1 = np.percentile(ys, [0.5, 99.5])
    side = max(x1 - x0, y1 - y0) * 1.06 + 4
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return round(cx - side / 2), round(cy - side / 2), round(side), round(side)


def has_ink(image: Image.Image) -> bool:
    """Whether ``image`` holds any red seal ink at all."""
    return ink_box(ink_mask(redness(image))) is not None


def ink_crop(image: Image.Image, size: int) -> np.ndarray:
    """The seal's ink as a ``size`` x ``size`` float32 map in 0..1 (0 = no ink): the
    redness inside :func:`ink_box`, scaled so that the ink's 95th percentile is 1.
    An image without ink gives all zeros."""
    red = redness(image)
    mask = ink_mask(red)
    box = ink_box(mask)
    if box is None:
        return np.zeros((size, size), np.float32)
    x, y, w, h = box
    pad = max(w, h)
    padded = cv2.copyMakeBorder(red, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    crop = padded[y + pad : y + pad + h, x + pad : x + pad + w].astype(np.float32)
    crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    top = float(np.percentile(red[mask], 95)) if mask.any() else 1.0
    floor = max(float(MIN_REDNESS) * 0.5, 1.0)
    return np.clip((crop - floor) / max(top - floor, 1.0), 0, 1).astype(np.float32)
