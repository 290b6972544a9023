"""The layered decision (分层相似图片检测): each pair is decided by the cheapest layer that can.

Layers, cheapest first; a layer runs only when its methods were computed:

1. **identical**: every fingerprint equal (Hamming 0) and SSIM / colour at their identical
   thresholds;
2. **hash**: pHash, or the rotation/mirror-invariant pHash (phash8), says similar
   (d <= 8 of 64, measured in docs/accuracy.md) -> similar; without them the first of
   aHash, wHash, dHash decides (the sources' d <= 5);
3. **colour + content + SSIM**: when a hash distance is in the uncertain band (pHash 9-14
   bits, the others 6-10),
   SSIM similar, or colour and the content fingerprint both similar -> similar;
4. **local features**: ORB/SIFT keypoints verified by RANSAC decide what the global
   fingerprints cannot: crops, rotations, mirror images, pasted copies.

Whatever no layer calls similar is different; ``decided_by`` names the last layer's method
that spoke, so every reported pair says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lookalike.methods.base import CodeMethod, Method

OverallVerdict = Literal["identical", "similar", "different"]

#: The layers `lookalike dupes` and `docs` run by default, cheapest first.
DEFAULT_LAYERS: tuple[str, ...] = ("phash8", "color", "content", "orb")

HASH_ORDER = ("phash", "phash8", "ahash", "whash", "dhash")
#: Hashes whose "similar" is trusted on its own (aHash and dHash only as the primary).
TRUSTED = ("phash", "phash8")
LOCAL_ORDER = ("orb", "sift")
#: Methods that find candidates but never decide (visual words).
CANDIDATE_ONLY = ("words",)
#: Colour similarity two flat images need to be copies (pixel-near-identical): the hash
#: and the mask of a flat image carry no information.
FLAT_COLOUR = 0.99


@dataclass(frozen=True)
class Score:
    """One method's result for one pair."""

    method: str
    distance: float
    similarity: float
    verdict: str
    #: What the method saw beyond a number: orb/sift "copy", "contains", "shares a region",
    #: "nothing shared";
    #: phash8 the rotation/mirror that matched ("" = as is); content "flat" (a mask with
    #: hardly any information). Empty when there is nothing to say.
    relation: str = ""
    #: What keypoints measured of a verified match (:func:`lookalike.methods.local.geometry`:
    #: angle, scale, mirror, the share of each image kept); empty for other methods.
    geometry: str = ""

    def to_dict(self) -> dict[str, object]:
        d = self.distance
        out: dict[str, object] = {
            "distance": int(d) if float(d).is_integer() else round(float(d), 6),
            "similarity": round(float(self.similarity), 6),
            "verdict": self.verdict,
        }
        if self.relation:
            out["relation"] = self.relation
        return out


def decide(scores: Mapping[str, Score]) -> tuple[OverallVerdict, str]:
    """The overall verdict of one pair and the method that decided it."""
    scores = {n: s for n, s in scores.items() if n not in CANDIDATE_ONLY}
    if not scores:
        raise ValueError("no scores to decide from")
    global_ = [s for s in scores.values() if s.method not in LOCAL_ORDER]
    # The aspect ratio must agree, but it never reads a pixel: it cannot witness alone.
    witnesses = [s for s in global_ if s.method != "aspect"]
    if witnesses and all(s.verdict == "identical" for s in global_):
        return "identical", next((n for n in HASH_ORDER if n in scores), witnesses[0].method)
    hashes = [scores[n] for n in HASH_ORDER if n in scores]
    primary = hashes[0] if hashes else None
    content, color = scores.get("content"), scores.get("color")
    # A near-uniform Otsu mask (flat, blank or mostly dark image): every hash of such
    # images looks alike and the mask agrees by construction.
    flat = content is not None and content.relation == "flat"
    for h in hashes:
        if (h is primary or h.method in TRUSTED) and h.verdict in ("identical", "similar"):
            weak = weak_hash(h)
            if not (h.relation or flat) and not (weak and _keypoints_object(scores)):
                return "similar", h.method
            # Rotated / mirrored match, or flat images: the hash needs a witness.
            local = _local_copy(scores)
            if local is not None:
                return "similar", local
            # (two dark designs rich in keypoints, none of them shared, are not)
            if flat and _same_pixels(content, color) and not _keypoints_object(scores, NOTHING):
                return "similar", "content"
    if primary is None or any(h.verdict == "uncertain" for h in hashes):
        ssim = scores.get("ssim")
        if ssim is not None and ssim.verdict in ("identical", "similar"):
            return "similar", "ssim"
        if (
            color is not None
            and content is not None
            and not flat
            and color.verdict in ("identical", "similar")
            and content.verdict in ("identical", "similar")
            and not _keypoints_object(scores, OBJECTIONS)
        ):
            return "similar", "content"
    for name in LOCAL_ORDER:
        keypoints = scores.get(name)
        if keypoints is not None:
            verdict: OverallVerdict = (
                "similar" if keypoints.verdict in ("identical", "similar") else "different"
            )
            return verdict, name
    if primary is None:
        # Only non-hash global methods: majority of their own verdicts. The aspect ratio
        # never votes: a resized copy and another photo of the same shape look alike to it.
        voters = [s for s in scores.values() if s.method != "aspect"] or list(scores.values())
        similar = [s for s in voters if s.verdict in ("identical", "similar")]
        if len(similar) * 2 > len(voters):
            return "similar", max(similar, key=lambda s: s.similarity).method
        # named by the most similar voter that agrees: never one that said "similar"
        rest = [s for s in voters if s not in similar]
        return "different", max(rest, key=lambda s: s.similarity).method
    return "different", primary.method


def _local_copy(scores: Mapping[str, Score]) -> str | None:
    """The first local-feature method that verified a copy, if any."""
    for name in LOCAL_ORDER:
        local = scores.get(name)
        if local is not None and local.verdict in ("identical", "similar"):
            return name
    return None


#: A hash match at most 5 of 64 bits apart (this similarity or more) needs no witness;
#: between this and the hash's own "similar" threshold, keypoints aligned on a shared
#: template (distinct charts or text pages of one layout) overrule it.
STRONG_HASH_SIMILARITY = 1.0 - 5 / 64


def weak_hash(score: Score) -> bool:
    """A hash match in the band where keypoints may overrule it."""
    return score.method in HASH_ORDER and score.similarity < STRONG_HASH_SIMILARITY


#: What keypoints say when they object to a weak hash: aligned, and the pixels differ (a
#: shared template, logo or layout).
ALIGNED_OBJECTION = ("shares a region",)
#: Nothing aligned although both pictures had the keypoints and the shape for it
#: (distinct charts of one template). It objects to colour + content and to a flat mask's
#: same pixels, not to a weak hash: a copy posterised to a few grey levels grows keypoints
#: of its own (two of the corpus's 2-bit greyscale copies reach their group by weak hashes
#: only).
NOTHING = ("nothing shared",)
#: What objects to colour + content.
OBJECTIONS = (*ALIGNED_OBJECTION, *NOTHING)


def _keypoints_object(
    scores: Mapping[str, Score], objections: tuple[str, ...] = ALIGNED_OBJECTION
) -> bool:
    """Whether keypoint verification objects (one of ``objections``): then the weaker
    global layers alone prove nothing."""
    return any(
        (s := scores.get(name)) is not None and s.relation in objections for name in LOCAL_ORDER
    )


def _same_pixels(content: Score | None, color: Score | None) -> bool:
    """Flat images are copies only when nearly the same pixels: masks and colours agree."""
    return (
        content is not None
        and color is not None
        and content.verdict in ("identical", "similar")
        and color.similarity >= FLAT_COLOUR
    )


def score_rows(method: Method, fa: Any, fb: Any) -> list[Score]:
    """Scores of aligned feature rows ``fa[i]`` vs ``fb[i]`` for one method.

    A method with ``relations(fa, fb)`` (local features, phash8, content) gives each
    score its relation too; local features are matched once for both.
    """
    relations = getattr(method, "relations", None)
    if relations is not None and method.kind == "pair":
        return [
            Score(method.name, 1.0 - s, s, method.verdict(s), r, g) for s, r, g in relations(fa, fb)
        ]
    rel = [""] * 0 if relations is None else list(relations(fa, fb))
    sims = np.atleast_1d(np.asarray(method.similarity(fa, fb), dtype=np.float64))
    if isinstance(method, CodeMethod):
        dists = np.atleast_1d(method.distance(fa, fb)).astype(np.float64)
    else:
        dists = 1.0 - sims
    rel = rel or [""] * len(sims)
    return [
        Score(method.name, float(d), float(s), method.verdict(float(s)), r)
        for d, s, r in zip(dists, sims, rel, strict=True)
    ]
