"""How two alike images differ, named from what the engine measured, and a similarity that
reads the same whatever layer decided.

Why: a score of the deciding layer alone tells a user little. Every pair ORB verifies used
to read "100%", so a mirror image, a greyscale copy, a crop and a true byte copy looked the
same, and a threshold meant something else in every command. Here each verified pair gets

* a **relation** (:class:`PairRelation`), from measurements, never from the method's name:
  the digests (identical bytes), the original sizes (resized), the colour histograms
  (greyscale, recoloured), the phash8 transform (mirrored, turned by 90/180/270 degrees),
  and what keypoints measured (:func:`lookalike.methods.local.geometry`: the angle, the
  share of each picture inside the other's frame, an edited block) for crops, frames,
  small rotations, captions and pasted copies;
* a **calibrated similarity**: each relation has a band on one scale (:data:`BANDS`), and
  within the band the measure of how much survived places the pair (the pHash distance,
  the area kept). 100% is reserved for identical bytes; everything the engine verifies
  is at least 85%, so the documents' default threshold (85%) keeps every verified pair
  and a higher threshold keeps the closer relations first: 95% keeps re-encoded and
  resized copies, 90% adds greyscale, recoloured, mirrored and turned copies, and so on.

The bands order the relations by how much of the picture a copy keeps as it was; they are
a convention written down here (and in the README), not a fitted probability.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lookalike.match.cascade import LOCAL_ORDER, STRONG_HASH_SIMILARITY, Score

__all__ = [
    "BANDS",
    "KINDS",
    "PairRelation",
    "calibrated_similarity",
    "different_similarity",
    "flip_geometry",
    "grey_histograms",
    "name_relation",
    "parse_geometry",
    "relate",
]

#: Relation kinds, closest first.
KINDS: tuple[str, ...] = (
    "identical bytes",
    "recompressed",
    "resized",
    "greyscale",
    "recoloured",
    "mirrored",
    "rotated",
    "framed",
    "edited",
    "cropped",
    "contains",
    "similar",
)

#: Calibrated similarity band (low, high) of each kind.
BANDS: dict[str, tuple[float, float]] = {
    "identical bytes": (1.0, 1.0),
    "recompressed": (0.97, 0.999),
    "resized": (0.95, 0.99),
    "greyscale": (0.91, 0.945),
    "recoloured": (0.90, 0.94),
    "mirrored": (0.91, 0.945),
    "rotated": (0.88, 0.945),
    "framed": (0.87, 0.93),
    "edited": (0.86, 0.93),
    "cropped": (0.85, 0.93),
    "contains": (0.85, 0.88),
    "similar": (0.85, 0.94),
}

#: English and Chinese words of each kind (the details are added by :meth:`PairRelation.words`).
WORDS: dict[str, tuple[str, str]] = {
    "identical bytes": ("identical file", "相同文件"),
    "recompressed": ("same picture, re-encoded", "同一图片，重新编码"),
    "resized": ("resized", "缩放"),
    "greyscale": ("greyscale copy", "灰度副本"),
    "recoloured": ("recoloured", "改色"),
    "mirrored": ("mirror image", "镜像"),
    "rotated": ("rotated", "旋转"),
    "framed": ("framed or bordered", "加框或加边"),
    "edited": ("captioned or edited", "加字或局部修改"),
    "cropped": ("cropped", "裁剪"),
    "contains": ("contains the other", "包含另一张"),
    "similar": ("similar", "相似"),
}

#: A colour histogram is grey when this share of it lies on the grey diagonal (r = g = b
#: levels); a colour photo keeps well under it.
GREY_SHARE = 0.98
#: Both images lie (nearly) whole inside the other's frame: no crop, no frame.
WHOLE = 0.9
#: Under this share of the larger picture, the smaller one is a pasted part, not a crop
#: (a crop to half of each side keeps 25%: still "cropped").
PASTED_BELOW = 0.2
#: Degrees: a turn smaller than this is alignment noise, not a rotation.
TURN_MIN = 3.0
#: Bits: a recoloured copy keeps its pHash within this; farther, the colours changed in
#: one part of the picture (an edit).
RECOLOUR_BITS = 4
#: Bits: the larger image's trimmed code within this of the other's code = a frame.
FRAME_BITS = 10
_DIAGONAL = np.array([q * 16 + q * 4 + q for q in range(4)])


@dataclass(frozen=True)
class PairRelation:
    """What the engine found between image 1 and image 2 of a pair.

    ``holder``: for ``cropped``, ``framed`` and ``contains``, which image (1 or 2) holds
    the other (the larger picture); 0 otherwise. ``kept``: the share of the holder the
    other shows (cropped, contains) or the share of the framed picture its frame leaves
    to the picture (framed). ``angle``: degrees of a rotation. ``scale``: for a holder,
    the size of the other picture inside it against the other file's own (linear): under
    1, the holder shows the other shrunk -- a screenshot, a frame or a paste of it, not
    the original a crop was cut from.
    """

    kind: str
    holder: int = 0
    kept: float = 1.0
    angle: float = 0.0
    scale: float = 1.0

    def words(self, lang: str = "en") -> str:
        """The relation in words: "cropped: 2 keeps 55% of 1" / "裁剪：图2保留图1的55%"."""
        en, zh = WORDS[self.kind]
        other = 3 - self.holder
        pct = f"{100 * self.kept:.0f}%"
        if self.kind == "rotated":
            deg = f"{abs(self.angle):.0f}°"
            return f"旋转 {deg}" if lang == "zh" else f"rotated by {deg}"
        if self.kind == "cropped" and self.holder:
            if lang == "zh":
                return f"裁剪：图{other}保留图{self.holder}的{pct}"
            return f"cropped: {other} keeps {pct} of {self.holder}"
        if self.kind == "framed" and self.holder:
            if lang == "zh":
                return f"加框或加边：图{self.holder}是图{other}加框（原图占{pct}）"
            return f"framed: {self.holder} is {other} in a frame ({pct} picture)"
        if self.kind == "contains" and self.holder:
            if lang == "zh":
                return f"包含：图{self.holder}含有图{other}（占{pct}）"
            return f"contains: {self.holder} holds {other} ({pct} of it)"
        return zh if lang == "zh" else en

    def to_dict(self) -> dict[str, object]:
        """JSON form: the kind, its details where they apply, and the words in both languages."""
        out: dict[str, object] = {"kind": self.kind}
        if self.holder:
            out["holder"] = self.holder
            out["kept"] = round(self.kept, 3)
        if self.kind == "rotated":
            out["angle"] = round(self.angle, 1)
        out["en"] = self.words("en")
        out["zh"] = self.words("zh")
        return out

    def swapped(self) -> PairRelation:
        """The same relation with image 1 and image 2 exchanged."""
        if not self.holder:
            return self
        return PairRelation(self.kind, 3 - self.holder, self.kept, -self.angle, self.scale)


def parse_geometry(text: str) -> dict[str, float]:
    """The fields of :func:`lookalike.methods.local.geometry` (empty when none)."""
    out: dict[str, float] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            out[key] = float(value)
    return out


def flip_geometry(text: str) -> str:
    """A geometry seen from the other image: the turn undone, the shares exchanged."""
    if not text:
        return text
    g = parse_geometry(text)
    angle = g["angle"] if g.get("mirror") else -g["angle"]
    return (
        f"angle={0.0 if angle == 0 else angle:.1f};scale={1.0 / max(g['scale'], 1e-9):.4g};"
        f"mirror={int(g['mirror'])};keep_a={g['keep_b']:.3f};keep_b={g['keep_a']:.3f};"
        f"edit={int(g['edit'])}"
    )


def grey_histograms(histograms: np.ndarray) -> np.ndarray:
    """Which rows of (n, 64) colour histograms are grey (their mass on r = g = b)."""
    h = np.asarray(histograms, dtype=np.float64).reshape(-1, 64)
    return np.asarray(h[:, _DIAGONAL].sum(axis=1) >= GREY_SHARE)


def _turn(transform: str) -> tuple[bool, float]:
    """(mirrored, angle) of a phash8 transform name ("mirror+rot90" -> (True, 90))."""
    mirrored = transform.startswith("mirror")
    angle = float(transform.rpartition("rot")[2]) if "rot" in transform else 0.0
    return mirrored, angle


def name_relation(
    scores: Mapping[str, Score],
    *,
    same_bytes: bool = False,
    sizes: tuple[tuple[float, float], tuple[float, float]] | None = None,
    grey: tuple[bool, bool] = (False, False),
    framed: tuple[bool, bool] = (False, False),
) -> PairRelation:
    """The relation of a verified pair, from its scores and the two images' facts.

    ``sizes``: the original (width, height) of both; ``grey``: whether each is a greyscale
    picture; ``framed``: whether each one's picture, trimmed of flat borders, meets the
    other's code (a frame around the other).
    """
    if same_bytes:
        return PairRelation("identical bytes")
    local = next((scores[n] for n in LOCAL_ORDER if n in scores and scores[n].geometry), None)
    if local is not None and local.verdict in ("identical", "similar"):
        g = parse_geometry(local.geometry)
        keep_a, keep_b = g["keep_a"], g["keep_b"]
        # a turn leaves empty corners (the frame shares drop): named before any crop
        if g.get("mirror"):
            return PairRelation("mirrored")
        if abs(g["angle"]) >= TURN_MIN:
            return PairRelation("rotated", angle=g["angle"])
        if min(keep_a, keep_b) < WHOLE:
            # the image less inside the other is the larger picture, the holder
            holder = 1 if keep_a < keep_b else 2
            kept = min(keep_a, keep_b)
            # geometry's scale maps image 1 onto image 2: the other inside the holder
            # (two decimals: a cached geometry keeps four digits, seen from either side)
            s = g.get("scale", 1.0)
            inside = round(s if holder == 2 else 1.0 / max(s, 1e-9), 2)
            if framed[holder - 1]:
                return PairRelation("framed", holder, kept, scale=inside)
            if kept < PASTED_BELOW:
                return PairRelation("contains", holder, kept, scale=inside)
            return PairRelation("cropped", holder, kept, scale=inside)
        hash_ = scores.get("phash8") or scores.get("phash")
        strong = hash_ is not None and hash_.similarity >= STRONG_HASH_SIMILARITY
        if g.get("edit") and not strong:  # a hash within 5 bits: resized or re-encoded
            return PairRelation("edited")
    phash8 = scores.get("phash8")
    if phash8 is not None and phash8.relation:
        mirrored, angle = _turn(phash8.relation)
        if angle:
            return PairRelation("rotated", angle=angle)
        if mirrored:
            return PairRelation("mirrored")
    if grey[0] != grey[1]:
        return PairRelation("greyscale")
    color = scores.get("color")
    if color is not None and color.verdict not in ("identical", "similar"):
        # the colours moved: all over with the layout kept (a recolouring keeps the pHash
        # within a few bits), or in one part (a caption bar, a pasted patch)
        hash_ = scores.get("phash8") or scores.get("phash")
        near = hash_ is not None and hash_.distance <= RECOLOUR_BITS
        return PairRelation("recoloured" if near else "edited")
    hashes = [s for n, s in scores.items() if n in ("phash", "phash8") and s.verdict != "different"]
    if hashes or local is not None:
        if sizes is not None and tuple(sizes[0]) != tuple(sizes[1]):
            return PairRelation("resized")
        if hashes:
            return PairRelation("recompressed")
    return PairRelation("similar")


def _closeness(scores: Mapping[str, Score], relation: PairRelation) -> float:
    """Where in its band a pair lies, 0..1: how much of the picture survived."""
    if relation.holder:
        return relation.kept
    local = next((scores[n] for n in LOCAL_ORDER if n in scores and scores[n].geometry), None)
    if relation.kind in ("edited", "rotated") and local is not None:
        return float(np.clip((local.similarity - 0.85) / 0.15, 0.0, 1.0))
    hash_ = scores.get("phash8") or scores.get("phash")
    if hash_ is not None:
        return float(np.clip(1.0 - hash_.distance / 8.0, 0.0, 1.0))
    best = max((s.similarity for s in scores.values()), default=0.0)
    return float(np.clip(best, 0.0, 1.0))


def relate(
    scores: Mapping[str, Score],
    verdict: str,
    *,
    sizes: tuple[tuple[float, float], tuple[float, float]] | None = None,
    colours: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    same_bytes: bool = False,
    fallback: float = 0.0,
) -> tuple[PairRelation | None, float]:
    """A decided pair's relation (None when the cascade calls it different) and its
    similarity on the shared scale, for one pair (``compare``, a search hit).

    ``colours``: the two colour histograms (64 bins), for greyscale; ``fallback``: the
    hash similarity a different pair is placed by when its scores hold no hash.
    """
    if verdict not in ("identical", "similar") or not scores:
        hash_ = scores.get("phash8") or scores.get("phash")
        return None, different_similarity(hash_.similarity if hash_ is not None else fallback)
    grey = tuple(c is not None and bool(grey_histograms(c)[0]) for c in colours)
    relation = name_relation(scores, same_bytes=same_bytes, sizes=sizes, grey=grey)  # type: ignore[arg-type]
    return relation, calibrated_similarity(scores, relation)


def different_similarity(hash_similarity: float) -> float:
    """Where a pair the engine calls *different* lies on the shared scale: under 85%.

    Unrelated photos sit near half of the pHash bits apart (similarity 0.5), so that
    maps to 0 and a pHash similarity of 1 to just under 85%: a different result never
    reads like a near copy (it used to show unrelated images at 68%).
    """
    return 0.849 * float(np.clip((hash_similarity - 0.5) / 0.5, 0.0, 1.0))


def calibrated_similarity(scores: Mapping[str, Score], relation: PairRelation) -> float:
    """The pair's similarity on the shared scale: its relation's band, placed by closeness."""
    lo, hi = BANDS[relation.kind]
    return lo + (hi - lo) * _closeness(scores, relation)
