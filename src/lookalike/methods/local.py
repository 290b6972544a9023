"""Local-feature verification: finds partial copies that global hashes miss.

The cheap layers (perceptual hashes) compare whole images, so a crop, a rotation, a mirror
image or a photo pasted into another picture defeats them. This layer matches local
keypoint descriptors and keeps only the matches that agree on one plane-to-plane mapping:

1. keypoints and binary descriptors by ORB (Rublee et al., "ORB: an efficient alternative
   to SIFT or SURF", ICCV 2011), or SIFT (Lowe, "Distinctive image features from
   scale-invariant keypoints", IJCV 2004), on the grey image shrunk to ``max_side``;
   the same for the horizontally flipped image, because neither descriptor is
   mirror-invariant;
2. two nearest neighbours per descriptor and Lowe's ratio test (Lowe 2004, section 7.1);
3. a homography by RANSAC (Fischler & Bolles, "Random sample consensus", CACM 1981),
   rejected when degenerate (near-singular, extreme or very anisotropic scale, strong
   perspective, a folded quadrilateral);
4. ``similarity``: the RANSAC inliers divided by the keypoints that *could* have matched,
   i.e. those of each image that fall inside the other image's footprint under the model
   (the smaller count), clipped to [60, 100]: the floor keeps a tiny overlap from scoring
   high on a few chance inliers, the cap says that 100 consistent matches are conclusive
   on any image (under a 2x rescale most ORB keypoints do not repeat, so a crop never
   reaches a high ratio of its whole support).

The model is the sane one with the most inliers among a homography, a similarity and an
affine transform: the 8-degree homography alone overfits a dozen clustered inliers.

5. when the keypoints give no model (smooth designs with few corners, a tight crop whose
   keypoints the rest of the picture outbid), a dense alignment: the smaller picture's
   grey thumbnail is slid over the other's at 12 scales on half-size thumbnails (it
   covers 25-100% of the other's side), then at 9 finer scales around the best, by
   normalised cross-correlation (``cv2.matchTemplate``; Lewis, "Fast normalized
   cross-correlation", 1995). A placement correlating at :data:`DENSE_SCORE` or more is
   checked like a keypoint model, only stricter (the placement was chosen to correlate):
   at least :data:`DENSE_TILES` detailed tiles, :data:`AGREE_FULL_FRAME` of them at a
   tile correlation of :data:`DENSE_TILE_NCC`, and the tiles keep their grey levels and
   contrast (correlation ignores both, so a ring redrawn larger in another colour would
   pass). Only scales and shifts: a turned or mirrored crop is left to the keypoints.
   Measured on the corpus's 38 originals (``/tmp``-free rerun: the tests of
   ``tests/methods/test_local_dense.py``, and ``python bench/candidate_recall.py`` for
   the pipeline), one JPEG-90 copy each: corner crops to 40% verified 19 -> 24, random
   crops to 50% 27 -> 32, pastes and screenshots unchanged; none of the 703 unrelated
   pairs; no pair of the charts, dark, flat and text hard-negative sets. It costs about
   3.5 ms per pair the keypoints do not explain (ORB alone: about 10 ms).

Measured (ORB, max_side 640, 1000 features, FAST threshold 5, ratio 0.75) on the 38
originals of the shared corpus (../shared/corpus/photos/originals: photos and artwork):

- unrelated: all 1406 ordered pairs: max 6 inliers, max similarity 0.067, none verified;
- attacks on each of the 38 (verified / 38, similarity >= SIMILAR_AT and inliers >=
  MIN_INLIERS): rot 90/180/270 37, mirror 37, rot 5/10/15 deg 35, central-half crop 33,
  corner 60% crop 30, caption + border 32, 40% paste into another corpus photo 27;
  the package's own other renditions (resolutions, screenshots) 50/53. Misses are the
  smooth designs with almost no corners (vnc, wood, Elarun, Kokkini, PastelHills,
  summer_1am, DarkestHour: 0-190 keypoints) and pastes into a busy host photo, whose
  texture takes most of the 1000 keypoints;
- GNOME ``__dark`` recolourings: redrawn designs (truchet, symbolic, adwaita, grid, wood)
  0-8 inliers, not verified; licorice (61) and pixels (28) are the same drawing darkened,
  same geometry, and are verified: local features cannot tell a recolouring from a copy.

So SIMILAR_AT = 0.12 and MIN_INLIERS = 12: twice the worst chance consensus.
Cost on one core (CPU time, 1600 px JPEG already decoded): extraction 11 ms (both
orientations), matching 12 ms per unrelated pair (both orientations), 9 ms for a copy
(mirror skipped); a serialised LocalFeatures is about 75 KiB. SIFT: 82 ms and 3 ms, and
far fewer keypoints on smooth artwork at its default contrast threshold.
OpenCV's thread count is left to the caller (``cv2.setNumThreads`` is process-wide): the
work per call is a few ms and 2 threads gave the same CPU time as 1, so parallelise
across pairs, with ``cv2.setNumThreads(1)`` in each worker process.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import cv2
import numpy as np
from PIL import Image

from lookalike.errors import LookalikeError
from lookalike.methods.base import Kind, Method, Thresholds
from lookalike.methods.geometry import aspect_similarity
from lookalike.methods.rotated_frame import (
    RotatedFrame,
    find_rotated_frame,
    picture_mask,
    straighten,
)

__all__ = [
    "MIN_INLIERS",
    "RICH_KEYPOINTS",
    "SIMILAR_AT",
    "LocalFeatures",
    "LocalMatch",
    "LocalMethod",
    "calibrated",
    "extract_local",
    "local_similarity",
    "match_local",
]

SIMILAR_AT = 0.12
MIN_INLIERS = 12
#: Both footprints cover at least this share of their image: the pictures are aligned
#: frame on frame (a resize, rotation, mirror, template or logo on the same spot).
FULL_FRAME = 0.9
#: Share of the detailed tiles of the overlap whose pixels must agree (NCC >= 0.7) ...
AGREE_FULL_FRAME = 0.75  # ... when aligned frame on frame (distinct charts: <= 0.70)
AGREE_PARTIAL = 0.4  # ... otherwise (pastes on star fields: 0.43)
EDIT_BLOCK = 0.5  # an edit's disagreeing tiles fit in a block of at most half the grid ...
EDIT_CLEAN = 0.9  # ... and at least this share of the tiles outside it agree
#: A copy's agreeing area covers at least this share of one image (a corner crop of a star
#: field: 0.54; two crops of one photo overlapping by 15-50%: 0.16-0.24).
COVERED_AT = 0.5

#: Dense alignment (step 5): the least template correlation of the best placement, the
#: tile correlation a tile must reach, and the least detailed tiles in the overlap.
DENSE_SCORE = 0.95
DENSE_TILE_NCC = 0.9
DENSE_TILES = 16
_DENSE_SCALES = 12
_DENSE_SMALLEST = 0.25  # the contained picture's side, as a share of the other's
_DENSE_MIN_SIDE = 24  # thumbnail pixels: a smaller placement carries too little
_DENSE_COARSE_SLACK = 0.1  # a coarse score this far below DENSE_SCORE is not refined
_DENSE_LEVELS = 3.0  # grey levels: the median tile-mean difference of a placement ...
_DENSE_SPREAD = (0.75, 1.4)  # ... and the range of its median tile-spread ratio

DETECTORS = ("orb", "sift")
_FORMAT = 3
_TILES = 8  # tiles per side of the thumbnail whose pixels a match must explain
_BLUR = 1.0  # thumbnail pixels: absorbs the model's alignment error
_TILE_NCC = 0.7  # a tile agrees when the warped pixels correlate at least this much
_FLAT_STD = 4.0  # grey levels: a tile flatter than this carries no evidence ...
#: ... or flatter than this share of its whole thumbnail's spread: a low-contrast design
#: (small grey icons on a green ground, std 2.5) is all texture, not all flat, and its
#: tiles are checked like any other (else a re-encode of it "shares a region").
_FLAT_SHARE = 0.4
_FLAT_FLOOR = 0.5  # grey levels: below this a tile is flat whatever the image
_THUMB_SIDE = 160  # long side of the grey thumbnail kept to check a match's pixels
_RANSAC_PX = 5.0  # reprojection threshold, in pixels of the max_side working image
_SUPPORT_FLOOR = 60  # keypoints: the least support a similarity is computed against
_SUPPORT_CAP = 100  # inliers that are conclusive whatever the image's keypoint count
_MAX_SCALE = 8.0  # a homography scaling by more (or less than 1/x) is rejected
_MAX_ANISOTROPY = 4.0  # ratio of the singular values of the linear part
_MAX_PERSPECTIVE = 2e-3  # |h31|, |h32| in working pixels (a strong tilt)
_FILL_EDGE = 12.0  # working pixels: keypoints this near a turned picture's edge are dropped
#: Keypoints each picture needs for a match that finds no model to count as evidence that
#: they share nothing ("nothing shared"), when their shapes agree within SAME_SHAPE (a
#: squeezed or stretched copy defeats the descriptors). Measured on the hard negatives'
#: charts (one template, other data: 362-1007 keypoints, no model) against the copies
#: the keypoints miss held out (smooth designs, blurred or shrunk copies: at most 194 in
#: the poorer picture).
RICH_KEYPOINTS = 300
SAME_SHAPE = 0.1


@dataclass(frozen=True, eq=False)
class LocalFeatures:
    """Keypoints and descriptors of one image, and of its mirror image.

    ``keypoints`` are (n, 2) float32 x, y in the working image (long side <= max_side);
    ``scale`` maps original pixels to working pixels. ``sizes``, ``angles`` describe the
    keypoints. ``mirror_*`` hold the same for the horizontally flipped working image, in
    the flipped image's coordinates. Descriptors: (n, 32) uint8 (ORB) or (n, 128)
    float32 (SIFT).
    """

    detector: str
    shape: tuple[int, int]  # original (height, width)
    work_shape: tuple[int, int]  # (height, width) the features were computed on
    scale: float
    keypoints: np.ndarray
    sizes: np.ndarray
    angles: np.ndarray
    descriptors: np.ndarray
    mirror_keypoints: np.ndarray
    mirror_descriptors: np.ndarray
    thumb: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    #: degrees the picture is turned by inside its canvas
    #: (:func:`lookalike.methods.rotated_frame.find_rotated_frame`), 0 when it is not;
    #: ``turn_kept``: the canvas kept the picture's size (its corners were cut off)
    turn: float = 0.0
    turn_kept: bool = False

    def __len__(self) -> int:
        return len(self.keypoints)

    def to_bytes(self) -> bytes:
        """Serialise to a compact ``.npz`` blob (no pickle), e.g. for a SQLite cache."""
        buf = io.BytesIO()
        np.savez(
            buf,
            meta=np.array([_FORMAT, *self.shape, *self.work_shape], dtype=np.int64),
            scale=np.array([self.scale], dtype=np.float64),
            detector=np.array(self.detector),
            keypoints=self.keypoints,
            sizes=self.sizes,
            angles=self.angles,
            descriptors=self.descriptors,
            mirror_keypoints=self.mirror_keypoints,
            mirror_descriptors=self.mirror_descriptors,
            thumb=self.thumb,
            turn=np.array([self.turn, float(self.turn_kept)], dtype=np.float64),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LocalFeatures:
        """Inverse of :meth:`to_bytes`; raises LookalikeError on a foreign or broken blob."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = [int(v) for v in z["meta"]]
                if meta[0] != _FORMAT:
                    raise LookalikeError(None, f"local features: unknown format {meta[0]}")
                return cls(
                    detector=str(z["detector"]),
                    shape=(meta[1], meta[2]),
                    work_shape=(meta[3], meta[4]),
                    scale=float(z["scale"][0]),
                    keypoints=z["keypoints"],
                    sizes=z["sizes"],
                    angles=z["angles"],
                    descriptors=z["descriptors"],
                    mirror_keypoints=z["mirror_keypoints"],
                    mirror_descriptors=z["mirror_descriptors"],
                    thumb=z["thumb"],
                    turn=float(z["turn"][0]),
                    turn_kept=bool(z["turn"][1]),
                )
        except LookalikeError:
            raise
        except (ValueError, KeyError, OSError, IndexError) as exc:
            raise LookalikeError(None, f"local features: unreadable blob ({exc})") from exc


@dataclass(frozen=True, eq=False)
class LocalMatch:
    """The verdict on one pair.

    ``matches``: descriptor matches kept by the ratio test (of the better orientation);
    ``inliers``: those consistent with ``homography``; ``similarity`` in [0, 1];
    ``mirrored``: the match is between ``a`` flipped left-right and ``b``;
    ``homography``: 3x3 mapping pixel (x, y, 1) of the original ``a`` (mirror included,
    so det < 0 when mirrored) to the original ``b``, or None when nothing consistent.
    ``overlap_a``, ``overlap_b``: the share of each image inside the other's frame under
    the homography; ``agreement``: the share of the overlap's detailed tiles whose pixels
    agree once ``a`` is warped onto ``b`` (grey thumbnails, NCC >= 0.7); ``coverage_a``,
    ``coverage_b``: overlap x agreement, the share of each image the match explains.
    """

    matches: int
    inliers: int
    similarity: float
    mirrored: bool
    homography: np.ndarray | None
    coverage_a: float = 0.0
    coverage_b: float = 0.0
    overlap_a: float = 0.0
    overlap_b: float = 0.0
    agreement: float = 0.0
    #: the tiles that disagree lie in one block (a caption bar, a pasted picture, an
    #: edited patch) and nearly all the others agree: an edited copy, not a template
    local_edit: bool = False
    #: found by dense alignment (step 5 of the module docstring), not by keypoints
    dense: bool = False
    #: both pictures have the shape and the keypoints (:data:`RICH_KEYPOINTS`) for a
    #: shared frame to be found: when none is verified, that is evidence they differ
    searched: bool = False

    @property
    def verified(self) -> bool:
        """Enough consistent keypoints (similarity >= SIMILAR_AT and >= MIN_INLIERS
        inliers), or a dense alignment whose tiles agree."""
        if self.dense:
            return True
        return self.similarity >= SIMILAR_AT and self.inliers >= MIN_INLIERS

    @property
    def relation(self) -> Relation | None:
        """What the two images share, or None when nothing is verified.

        ``copy``: the pixels agree over most of both pictures; ``contains``: over most of
        one of them only (a crop, a pasted copy, a frame or caption added); ``shares a
        region``: the keypoints agree but the pixels do not, or only over a small part of
        both (a shared logo, widget, chart template or paragraph; two crops that overlap
        little); ``nothing shared``: nothing verified although both pictures were rich
        enough in keypoints (:attr:`searched`): distinct charts of one template, whose
        shared frame the cheap global layers take for a copy. Only the first two are copies
        (:attr:`similar`).
        """
        if not self.verified:
            return "nothing shared" if self.searched else None
        full_frame = min(self.overlap_a, self.overlap_b) >= FULL_FRAME
        needed = AGREE_FULL_FRAME if full_frame and not self.local_edit else AGREE_PARTIAL
        if self.agreement < needed:
            return "shares a region"
        if min(self.coverage_a, self.coverage_b) >= COVERED_AT:
            return "copy"
        if max(self.coverage_a, self.coverage_b) >= COVERED_AT:
            return "contains"
        return "shares a region"

    @property
    def similar(self) -> bool:
        """A verified copy: enough inliers, and pixels that agree over most of one image."""
        return self.relation in ("copy", "contains")


Relation = Literal["copy", "contains", "shares a region", "nothing shared"]


def _grey(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise LookalikeError(None, f"local features need a uint8 image, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
        return cv2.cvtColor(np.ascontiguousarray(image), code)
    if image.ndim != 2 or min(image.shape) < 1:
        raise LookalikeError(None, f"local features need (H, W) or (H, W, 3), got {image.shape}")
    return np.ascontiguousarray(image)


def _detector(name: str, n_features: int) -> cv2.Feature2D:
    if name == "orb":
        # edgeThreshold / patchSize 31 is ORB's own; a lower FAST threshold keeps smooth
        # artwork (gradients, few corners) from yielding no keypoints at all.
        # (the factory functions are missing from OpenCV's bundled type stubs)
        orb = cv2.ORB_create  # type: ignore[attr-defined]
        return orb(nfeatures=n_features, scaleFactor=1.2, nlevels=8, fastThreshold=5)
    if name == "sift":
        return cv2.SIFT_create(nfeatures=n_features)  # type: ignore[attr-defined]
    raise ValueError(f"unknown detector {name!r}; expected one of {DETECTORS}")


def _detect(
    det: cv2.Feature2D, grey: np.ndarray, mask: np.ndarray | None
) -> tuple[np.ndarray, ...]:
    """Keypoints (x, y), sizes, angles and descriptors of ``grey`` (where ``mask`` is set)."""
    # ORB's pyramid asserts on a 1-pixel-wide or -tall image; no keypoint fits there anyway.
    kps, desc = det.detectAndCompute(grey, mask) if min(grey.shape) >= 2 else ((), None)
    n = len(kps)
    if desc is None or n == 0:
        desc_width, dtype = (32, np.uint8) if isinstance(det, cv2.ORB) else (128, np.float32)
        desc = np.zeros((0, desc_width), dtype)
    xy = np.array([k.pt for k in kps], dtype=np.float32).reshape(n, 2)
    sizes = np.array([k.size for k in kps], dtype=np.float32)
    angles = np.array([k.angle for k in kps], dtype=np.float32)
    return xy, sizes, angles, np.ascontiguousarray(desc)


def _thumbnail(grey: np.ndarray) -> np.ndarray:
    """The working image shrunk to a long side of _THUMB_SIDE (never enlarged)."""
    h, w = grey.shape
    t = min(1.0, _THUMB_SIDE / max(h, w))
    size = (max(1, round(w * t)), max(1, round(h * t)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA) if t < 1.0 else grey.copy()


def extract_local(
    image: np.ndarray,
    *,
    detector: str = "orb",
    max_side: int = 640,
    n_features: int = 1000,
    mirror: bool = True,
) -> LocalFeatures:
    """Keypoints and descriptors of ``image`` (uint8 grey or RGB) and of its mirror image.

    The image is shrunk (INTER_AREA) so that its long side is <= ``max_side``: this fixes
    the cost and puts every image on a comparable scale, which the RANSAC threshold assumes.
    ``mirror=False`` skips the mirror image (its arrays are then empty): half the cost.
    """
    if detector not in DETECTORS:
        raise ValueError(f"unknown detector {detector!r}; expected one of {DETECTORS}")
    grey = _grey(image)
    h, w = grey.shape
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    det = _detector(detector, n_features)
    frame = find_rotated_frame(grey)
    # a turned copy's keypoints come from its picture only: the fill's straight edges
    # would match those of any other copy turned by a similar angle
    mask = None if frame is None else picture_mask(grey.shape, frame, _FILL_EDGE)
    xy, sizes, angles, desc = _detect(det, grey, mask)
    if mirror:
        flipped = np.ascontiguousarray(grey[:, ::-1])
        mxy, _, _, mdesc = _detect(det, flipped, None if mask is None else mask[:, ::-1].copy())
    else:
        mxy, mdesc = np.zeros((0, 2), np.float32), desc[:0]
    return LocalFeatures(
        detector=detector,
        shape=(h, w),
        work_shape=(grey.shape[0], grey.shape[1]),
        scale=grey.shape[1] / w,
        keypoints=xy,
        sizes=sizes,
        angles=angles,
        descriptors=desc,
        mirror_keypoints=mxy,
        mirror_descriptors=mdesc,
        thumb=_thumbnail(grey),
        turn=0.0 if frame is None else frame.angle,
        turn_kept=frame is not None and frame.kept,
    )


def _ratio_matches(da: np.ndarray, db: np.ndarray, ratio: float) -> np.ndarray:
    """(m, 2) index pairs (into a, into b) that pass Lowe's ratio test, one per b index."""
    if len(da) < 2 or len(db) < 2:
        return np.zeros((0, 2), np.int32)
    norm = cv2.NORM_HAMMING if da.dtype == np.uint8 else cv2.NORM_L2
    knn = cv2.BFMatcher(norm).knnMatch(da, db, k=2)
    pairs = [
        (m[0].queryIdx, m[0].trainIdx, m[0].distance)
        for m in knn
        if len(m) == 2 and m[0].distance < ratio * m[1].distance
    ]
    if not pairs:
        return np.zeros((0, 2), np.int32)
    arr = np.array(pairs, dtype=np.float64)
    # Several a-keypoints may pick the same b-keypoint: keep the closest, so that one
    # strong b corner cannot count as many inliers.
    arr = arr[np.lexsort((arr[:, 2], arr[:, 1]))]
    keep = np.ones(len(arr), bool)
    keep[1:] = arr[1:, 1] != arr[:-1, 1]
    return arr[keep, :2].astype(np.int32)


def _sane(h: np.ndarray, shape_a: tuple[int, int]) -> bool:
    """Reject homographies that no crop / rotation / rescale / paste would produce."""
    if not np.all(np.isfinite(h)) or abs(h[2, 2]) < 1e-12:
        return False
    h = h / h[2, 2]
    if abs(h[2, 0]) > _MAX_PERSPECTIVE or abs(h[2, 1]) > _MAX_PERSPECTIVE:
        return False
    lin = h[:2, :2]
    if np.linalg.det(lin) <= 0:  # a reflection: the mirror case is matched separately
        return False
    s = np.linalg.svd(lin, compute_uv=False)
    if s[1] < 1e-9 or s[0] / s[1] > _MAX_ANISOTROPY:
        return False
    area_scale = float(np.sqrt(s[0] * s[1]))
    if not 1 / _MAX_SCALE <= area_scale <= _MAX_SCALE:
        return False
    # The image of a's frame must stay a convex quadrilateral in front of the camera.
    ha, wa = shape_a
    corners = np.array([[0, 0, 1], [wa, 0, 1], [wa, ha, 1], [0, ha, 1]], np.float64)
    proj = corners @ h.T
    if np.any(proj[:, 2] <= 0):
        return False
    q = proj[:, :2] / proj[:, 2:]
    edges = np.roll(q, -1, axis=0) - q
    turn = np.roll(edges, -1, axis=0)
    cross = edges[:, 0] * turn[:, 1] - edges[:, 1] * turn[:, 0]
    return bool(np.all(cross > 0) or np.all(cross < 0))


def _fit(
    src: np.ndarray, dst: np.ndarray, shape_a: tuple[int, int]
) -> tuple[np.ndarray | None, np.ndarray]:
    """The sane model with the most RANSAC inliers: homography, similarity or affine.

    A full homography (8 degrees of freedom) overfits when the true inliers are few or
    clustered (a small pasted copy, a crop of a repetitive texture) and then fails the
    sanity checks; a similarity transform (rotation, uniform scale, shift: 4 degrees)
    describes every attack here and stays well posed on a dozen points.
    """
    best: tuple[np.ndarray | None, np.ndarray] = (None, np.zeros(len(src), bool))
    fits = []
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, _RANSAC_PX, maxIters=2000, confidence=0.995)
    fits.append((h, mask))
    for estimate in (cv2.estimateAffinePartial2D, cv2.estimateAffine2D):
        a, mask = estimate(
            src,
            dst,
            method=cv2.RANSAC,
            ransacReprojThreshold=_RANSAC_PX,
            maxIters=2000,
            confidence=0.995,
        )
        fits.append((None if a is None else np.vstack([a, [0.0, 0.0, 1.0]]), mask))
    for h, mask in fits:
        if h is None or mask is None:
            continue
        inliers = mask.ravel().astype(bool)
        if inliers.sum() > best[1].sum() and _sane(h, shape_a):
            best = (h, inliers)
    return best


def _inside(xy: np.ndarray, h: np.ndarray, shape: tuple[int, int]) -> int:
    """How many points land inside a (height, width) frame under homography ``h``."""
    if len(xy) == 0:
        return 0
    p = cv2.perspectiveTransform(xy.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)
    hh, ww = shape
    return int(np.count_nonzero((p[:, 0] >= 0) & (p[:, 0] < ww) & (p[:, 1] >= 0) & (p[:, 1] < hh)))


@dataclass(frozen=True)
class _TileMoments:
    """Per tile of ``dst`` (_TILES x _TILES), ``src`` warped onto it: which tiles lie
    (mostly) inside the footprint, and the two images' means, spreads and correlation
    there; ``covered``: the share of ``dst`` inside the footprint."""

    covered: float
    used: np.ndarray
    mean_src: np.ndarray
    mean_dst: np.ndarray
    std_src: np.ndarray
    std_dst: np.ndarray
    ncc: np.ndarray

    def swapped(self) -> _TileMoments:
        """The same tiles, read with ``src`` and ``dst`` exchanged."""
        return _TileMoments(
            self.covered,
            self.used,
            self.mean_dst,
            self.mean_src,
            self.std_dst,
            self.std_src,
            self.ncc,
        )


Valid = tuple[np.ndarray | None, np.ndarray | None]
_ALL: Valid = (None, None)


def _tile_moments(
    src: np.ndarray, dst: np.ndarray, h: np.ndarray, blur: float, valid: Valid = _ALL
) -> _TileMoments:
    """Warp thumbnail ``src`` onto ``dst`` by ``h`` (thumbnail pixels), both blurred by
    ``blur`` (0: not at all), and measure each tile of ``dst`` over the footprint.
    ``valid``: masks of the picture in ``src`` and in ``dst`` (None: all of it), so a
    turned copy's fill is no part of the footprint (:func:`_picture_mask`); the share
    covered stays a share of all of ``dst``."""
    hd, wd = dst.shape
    warped = cv2.warpPerspective(src.astype(np.float32), h, (wd, hd), flags=cv2.INTER_LINEAR)
    mask_src = np.ones(src.shape, np.uint8) if valid[0] is None else valid[0]
    inside = cv2.warpPerspective(mask_src, h, (wd, hd), flags=cv2.INTER_NEAREST).astype(bool)
    if valid[1] is not None:
        inside &= valid[1].astype(bool)
    x, y = warped, dst.astype(np.float32)
    if blur > 0:
        x, y = cv2.GaussianBlur(x, (0, 0), blur), cv2.GaussianBlur(y, (0, 0), blur)
    ys = np.linspace(0, hd, _TILES + 1).astype(int)
    xs = np.linspace(0, wd, _TILES + 1).astype(int)
    m = inside.astype(np.float64)
    u, v = x.astype(np.float64) * m, y.astype(np.float64) * m

    def tile_sums(a: np.ndarray) -> np.ndarray:  # (_TILES, _TILES) sums over each tile
        return np.add.reduceat(np.add.reduceat(a, ys[:-1], axis=0), xs[:-1], axis=1)

    area = np.outer(np.diff(ys), np.diff(xs)).astype(np.float64)
    n = tile_sums(m)
    su, sv = tile_sums(u), tile_sums(v)
    suu, svv, suv = tile_sums(u * u), tile_sums(v * v), tile_sums(u * v)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu, mv = su / n, sv / n
        std_u = np.sqrt(np.maximum(suu / n - mu * mu, 0.0))
        std_v = np.sqrt(np.maximum(svv / n - mv * mv, 0.0))
        ncc = (suv / n - mu * mv) / (std_u * std_v)
    used = (area > 0) & (n >= 0.75 * area)  # tiles (mostly) inside the footprint
    return _TileMoments(float(inside.mean()), used, mu, mv, std_u, std_v, ncc)


def _tile_ncc(
    src: np.ndarray,
    dst: np.ndarray,
    h: np.ndarray,
    flat: tuple[float, float],
    valid: Valid = _ALL,
) -> tuple[float, np.ndarray]:
    """Warp thumbnail ``src`` onto ``dst`` by ``h`` (thumbnail pixels) and compare tiles.

    Returns the share of ``dst`` that ``src`` covers and a _TILES x _TILES grid: for each
    tile of ``dst`` lying (mostly) inside that footprint, the normalised cross-correlation
    of the two (lightly blurred) images; NaN outside or where both are flat, 0 where one only is
    (treating the latter as neutral lifted 41 distinct charts to 'copy'). ``flat``: the tile
    std under which a tile of ``src`` and of ``dst`` is flat (:func:`_flat_level`);
    ``valid`` as :func:`_tile_moments` takes it.
    """
    t = _tile_moments(src, dst, h, _BLUR, valid)
    flat_u, flat_v = t.std_src < flat[0], t.std_dst < flat[1]
    out = np.where(flat_u | flat_v, 0.0, t.ncc)  # NaN: outside, or flat in both
    out[flat_u & flat_v] = np.nan
    out[~t.used] = np.nan
    return t.covered, out


def _flat_level(thumb: np.ndarray) -> float:
    """Tile std under which a tile of ``thumb`` is flat (see :data:`_FLAT_SHARE`)."""
    return max(_FLAT_FLOOR, min(_FLAT_STD, _FLAT_SHARE * float(np.std(thumb))))


def _picture_flat_level(x: LocalFeatures) -> float:
    """:func:`_flat_level` of ``x``'s picture: a rotated copy's fill triangles
    (:attr:`LocalFeatures.turn`) would raise its spread and call its picture's faint
    texture flat, where the original's same texture is not."""
    views = _dense_views(x)
    return _flat_level(views[0][0])


def _picture_mask(x: LocalFeatures) -> np.ndarray | None:
    """Mask of the picture in ``x.thumb``: None (all of it), or a turned copy's picture
    without its fill (:attr:`LocalFeatures.turn`)."""
    if not x.turn:
        return None
    shape = (x.thumb.shape[0], x.thumb.shape[1])
    return picture_mask(shape, RotatedFrame.of(x.turn, shape, x.turn_kept), 1.0)


def _pixel_check(
    ta: np.ndarray,
    tb: np.ndarray,
    h: np.ndarray,
    shape_a: tuple[int, int],
    shape_b: tuple[int, int],
    flat: tuple[float, float],
    valid: Valid = _ALL,
) -> tuple[float, float, np.ndarray]:
    """(share of a inside b's frame, share of b inside a's, tile NCCs) under ``h`` (working
    pixels a -> b); the tiles are those of the image the other covers more of. ``flat``:
    the tile spread under which a tile of a, of b is flat (:func:`_picture_flat_level`);
    ``valid``: the masks of a's and b's pictures in their thumbnails (:func:`_picture_mask`)."""
    sa = np.diag([ta.shape[1] / shape_a[1], ta.shape[0] / shape_a[0], 1.0])
    sb = np.diag([tb.shape[1] / shape_b[1], tb.shape[0] / shape_b[0], 1.0])
    ht = sb @ h @ np.linalg.inv(sa)
    flat_a, flat_b = flat
    share_b, ncc_b = _tile_ncc(ta, tb, ht, (flat_a, flat_b), valid)
    share_a, ncc_a = _tile_ncc(tb, ta, np.linalg.inv(ht), (flat_b, flat_a), valid[::-1])
    return share_a, share_b, ncc_a if share_a >= share_b else ncc_b


@dataclass(frozen=True)
class _Attempt:
    """One orientation of ``a`` matched against ``b``, in working pixels."""

    matches: int
    inliers: int = 0
    similarity: float = 0.0
    homography: np.ndarray | None = None
    coverage_a: float = 0.0
    coverage_b: float = 0.0
    overlap_a: float = 0.0
    overlap_b: float = 0.0
    agreement: float = 0.0
    local_edit: bool = False

    @property
    def similar(self) -> bool:
        """Whether this orientation explains the pixels (see :attr:`LocalMatch.similar`)."""
        return LocalMatch(
            self.matches,
            self.inliers,
            self.similarity,
            False,
            self.homography,
            self.coverage_a,
            self.coverage_b,
            self.overlap_a,
            self.overlap_b,
            self.agreement,
            self.local_edit,
        ).similar


def _checked(
    matches: int,
    inliers: int,
    similarity: float,
    h: np.ndarray,
    share_a: float,
    share_b: float,
    agreement: float,
    ncc: np.ndarray,
) -> _Attempt:
    """An attempt whose model was checked on the pixels (see :func:`_pixel_check`)."""
    return _Attempt(
        matches,
        inliers,
        similarity,
        h,
        share_a * agreement,
        share_b * agreement,
        share_a,
        share_b,
        agreement,
        _local_disagreement(ncc),
    )


def _verify(
    xy_a: np.ndarray,
    da: np.ndarray,
    b: LocalFeatures,
    shape_a: tuple[int, int],
    ratio: float,
    thumb_a: np.ndarray,
    flat: tuple[float, float],
    valid: Valid = _ALL,
) -> _Attempt:
    """Ratio-test matches, RANSAC model, similarity and coverage for one orientation of
    ``a``; ``flat`` and ``valid`` as :func:`_pixel_check` takes them."""
    pairs = _ratio_matches(da, b.descriptors, ratio)
    m = len(pairs)
    if m < 4:
        return _Attempt(m)
    src = xy_a[pairs[:, 0]].astype(np.float64)
    dst = b.keypoints[pairs[:, 1]].astype(np.float64)
    h, mask = _fit(src, dst, shape_a)
    if h is None:
        return _Attempt(m)
    inliers = int(mask.sum())
    support = min(_inside(xy_a, h, b.work_shape), _inside(b.keypoints, np.linalg.inv(h), shape_a))
    similarity = min(1.0, inliers / min(max(support, _SUPPORT_FLOOR), _SUPPORT_CAP))
    h = h / h[2, 2]
    share_a, share_b, ncc = _pixel_check(thumb_a, b.thumb, h, shape_a, b.work_shape, flat, valid)
    detailed = ncc[~np.isnan(ncc)]
    agreement = float(np.mean(detailed >= _TILE_NCC)) if len(detailed) else 0.0
    return _checked(m, inliers, similarity, h, share_a, share_b, agreement, ncc)


def _placement(inner: np.ndarray, outer: np.ndarray) -> tuple[float, np.ndarray | None]:
    """The best placement of thumbnail ``inner`` inside ``outer``, scaled so that it
    covers 25-100% of ``outer``'s side: (its correlation, the 3x3 map inner -> outer in
    thumbnail pixels); the map is None when no placement comes near a copy's.

    Coarse scales on half-size thumbnails first, then 9 finer ones at full size around
    the best (unless it is far below :data:`DENSE_SCORE`): a scale 5% off already blurs
    the tiles' correlation below :data:`DENSE_TILE_NCC`."""
    largest = min(outer.shape[1] / inner.shape[1], outer.shape[0] / inner.shape[0])

    def place(
        inner: np.ndarray, outer: np.ndarray, scales: np.ndarray, least: int
    ) -> tuple[float, float, np.ndarray | None]:
        hi, wi = inner.shape
        ho, wo = outer.shape
        target = outer.astype(np.float32)
        best: tuple[float, float, np.ndarray | None] = (-1.0, 0.0, None)
        for s in scales:
            w, h = round(wi * s), round(hi * s)
            if min(w, h) < least or w > wo or h > ho:
                continue
            t = cv2.resize(inner, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
            if float(t.std()) < _FLAT_FLOOR:
                continue
            scores = cv2.matchTemplate(target, t, cv2.TM_CCOEFF_NORMED)
            _, score, _, (x, y) = cv2.minMaxLoc(scores)
            if score > best[0]:
                h3 = np.array([[w / wi, 0.0, x], [0.0, h / hi, y], [0.0, 0.0, 1.0]])
                best = (float(score), float(s), h3)
        return best

    def half(t: np.ndarray) -> np.ndarray:
        return cv2.resize(
            t, (max(1, t.shape[1] // 2), max(1, t.shape[0] // 2)), interpolation=cv2.INTER_AREA
        )

    coarse = np.geomspace(largest * _DENSE_SMALLEST, largest, _DENSE_SCALES)
    score, scale, _ = place(half(inner), half(outer), coarse, _DENSE_MIN_SIDE // 2)
    if score < DENSE_SCORE - _DENSE_COARSE_SLACK:  # no finer scale lifts it to a copy
        return score, None
    step = (1.0 / _DENSE_SMALLEST) ** (1.0 / (_DENSE_SCALES - 1))
    fine = np.geomspace(scale / step, min(scale * step, largest), 9)
    score, _, h3 = place(inner, outer, fine, _DENSE_MIN_SIDE)
    return score, h3


def _footprint(inner: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``inner`` shrunk by area averaging to the size placement ``h`` (scale and shift,
    thumbnail pixels) gives it, and the map from ``outer`` onto that small picture; None
    when ``h`` does not shrink it."""
    w, hh = round(inner.shape[1] * h[0, 0]), round(inner.shape[0] * h[1, 1])
    if not (0 < w <= inner.shape[1] and 0 < hh <= inner.shape[0]):
        return None
    small = cv2.resize(inner, (w, hh), interpolation=cv2.INTER_AREA)
    return small, np.array([[1.0, 0.0, -h[0, 2]], [0.0, 1.0, -h[1, 2]], [0.0, 0.0, 1.0]])


def _footprint_ncc(inner: np.ndarray, outer: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Tile NCCs of a placement at the footprint's own size (see :func:`_footprint`): a
    tight crop covers a few of ``outer``'s tiles only, and its own thumbnail, sharper than
    that part of ``outer``, reads its finer texture as a difference when enlarged onto."""
    shrunk = _footprint(inner, h)
    if shrunk is None:
        return np.full((_TILES, _TILES), np.nan)
    small, back = shrunk
    return _tile_ncc(outer, small, back, (_flat_level(outer), _flat_level(inner)))[1]


def _same_levels(inner: np.ndarray, outer: np.ndarray, h: np.ndarray) -> bool:
    """Whether ``inner``, placed in ``outer`` by ``h`` (thumbnail pixels), keeps its grey
    levels there: over the detailed tiles of the footprint, the median difference of
    tile means is at most :data:`_DENSE_LEVELS` grey levels and the median ratio of tile
    spreads within :data:`_DENSE_SPREAD`. Correlation ignores gain and offset, so a line
    drawing redrawn larger in another colour (a spiral, a ring) correlates like a copy;
    a copy's tiles also keep their brightness and contrast. ``inner`` is shrunk to its
    placed size by area averaging, as the placement matched it, and the tiles are those
    of that footprint: a tight crop covers a few of ``outer``'s tiles only, and warping
    a sharper picture down keeps texture the outer one averaged away."""
    shrunk = _footprint(inner, h)
    if shrunk is not None:
        small, back = shrunk
        # outer's pixels in the footprint's tiles, read as inner (src) against outer (dst)
        t = _tile_moments(outer, small, back, 0.0).swapped()
    else:
        t = _tile_moments(inner, outer, h, 0.0)
    # a flat ground says nothing of the drawing
    detailed = t.used & (np.maximum(t.std_src, t.std_dst) >= _FLAT_STD)
    if np.count_nonzero(detailed) < DENSE_TILES // 2:
        return False
    gaps = np.abs(t.mean_src - t.mean_dst)[detailed]
    ratios = ((t.std_src + 1.0) / (t.std_dst + 1.0))[detailed]
    low, high = _DENSE_SPREAD
    return bool(np.median(gaps) <= _DENSE_LEVELS and low <= np.median(ratios) <= high)


def _dense_views(x: LocalFeatures) -> list[tuple[np.ndarray, np.ndarray]]:
    """The thumbnails the dense step places, each with its map from ``x.thumb``'s pixels:
    the picture straightened out of its rotated frame first (when ``x`` has one), then
    the thumbnail as it is."""
    plain = (x.thumb, np.eye(3))
    if not x.turn:
        return [plain]
    shape = (x.thumb.shape[0], x.thumb.shape[1])
    frame = RotatedFrame.of(x.turn, shape, x.turn_kept)
    if min(frame.view[2:]) < _DENSE_MIN_SIDE:
        return [plain]
    return [(straighten(x.thumb, frame), frame.to_picture(shape)), plain]


def _dense(
    a: LocalFeatures, b: LocalFeatures, flat: tuple[float, float], valid: Valid
) -> _Attempt | None:
    """Step 5 of the module docstring: ``a`` placed inside ``b`` or ``b`` inside ``a`` by
    their thumbnails (straightened first where one is a turned copy), as an attempt in
    working pixels when the pixels agree; else None. ``flat`` and ``valid`` as
    :func:`_pixel_check` takes them."""
    if min(a.thumb.shape + b.thumb.shape) < _DENSE_MIN_SIDE:
        return None
    views_b = _dense_views(b)
    for view_a in _dense_views(a):
        for view_b in views_b:
            found = _dense_placed(a, b, view_a, view_b, flat, valid)
            if found is not None:
                return found
    return None


def _dense_placed(
    a: LocalFeatures,
    b: LocalFeatures,
    view_a: tuple[np.ndarray, np.ndarray],
    view_b: tuple[np.ndarray, np.ndarray],
    flat: tuple[float, float],
    valid: Valid,
) -> _Attempt | None:
    """One dense attempt on a view of ``a`` and one of ``b``, each with its map from the
    thumbnail (see :func:`_dense_views`)."""
    (va, ma), (vb, mb) = view_a, view_b
    ta, tb = a.thumb, b.thumb
    score_ab, ab = _placement(va, vb)
    score_ba, ba = _placement(vb, va)
    if max(score_ab, score_ba) < DENSE_SCORE:
        return None
    inner, outer, placed = (va, vb, ab) if score_ab >= score_ba else (vb, va, ba)
    if placed is None or not _same_levels(inner, outer, placed):
        return None
    h = placed if placed is ab else np.linalg.inv(placed)  # va -> vb either way
    h = np.linalg.inv(mb) @ h @ ma  # a.thumb -> b.thumb
    # thumbnail pixels -> working pixels, as _pixel_check takes them
    sa = np.diag([ta.shape[1] / a.work_shape[1], ta.shape[0] / a.work_shape[0], 1.0])
    sb = np.diag([tb.shape[1] / b.work_shape[1], tb.shape[0] / b.work_shape[0], 1.0])
    work = np.linalg.inv(sb) @ h @ sa
    share_a, share_b, ncc = _pixel_check(ta, tb, work, a.work_shape, b.work_shape, flat, valid)
    if placed[0, 0] < 1.0:  # the tiles of the footprint, at its own size
        ncc = _footprint_ncc(inner, outer, placed)
    detailed = ncc[~np.isnan(ncc)]
    if len(detailed) < DENSE_TILES:
        return None
    agreement = float(np.mean(detailed >= DENSE_TILE_NCC))
    if agreement < AGREE_FULL_FRAME:
        return None
    similarity = SIMILAR_AT + (0.5 - SIMILAR_AT) * agreement
    return _checked(0, 0, similarity, work / work[2, 2], share_a, share_b, agreement, ncc)


def _local_disagreement(ncc: np.ndarray) -> bool:
    """Whether the tiles that disagree fit in one block of at most half the grid while
    nearly all the tiles outside it agree: an edit in one place (caption bar, pasted
    picture), not the scattered disagreement of two different drawings on one template."""
    grid = np.asarray(ncc, dtype=np.float64)
    if grid.ndim != 2:
        return False
    seen = ~np.isnan(grid)
    bad = seen & (np.nan_to_num(grid, nan=1.0) < _TILE_NCC)
    if not bad.any():
        return False
    rows = np.flatnonzero(bad.any(axis=1))
    cols = np.flatnonzero(bad.any(axis=0))
    box = np.zeros_like(bad)
    box[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = True
    if box.sum() > EDIT_BLOCK * box.size:
        return False
    outside = seen & ~box
    return int(outside.sum()) >= 8 and float(np.mean(grid[outside] >= _TILE_NCC)) >= EDIT_CLEAN


def match_local(a: LocalFeatures, b: LocalFeatures, *, ratio: float = 0.75) -> LocalMatch:
    """Verify whether ``a`` and ``b`` share a planar region: crop, rotation, mirror, paste.

    Matches ``a`` and then ``a`` mirrored against ``b`` and keeps the orientation that
    explains the pixels (a copy or a containment) first, then the one with more inliers;
    the mirrored attempt is skipped when the direct one is already a copy. Both must come
    from the same detector.
    """
    if a.detector != b.detector:
        raise ValueError(f"cannot match {a.detector} features against {b.detector} features")
    best, mirrored, dense = _Attempt(0), False, False
    # each picture's flat level and mask, once for every check below
    flat = (_picture_flat_level(a), _picture_flat_level(b))
    va, vb = _picture_mask(a), _picture_mask(b)
    if len(a) >= 4 and len(b) >= 4:
        best = direct = _verify(
            a.keypoints, a.descriptors, b, a.work_shape, ratio, a.thumb, flat, (va, vb)
        )
        # The mirror image is tried unless the direct match is already a copy: a nearly
        # symmetric picture gives the direct orientation many inliers whose pixels disagree.
        if not direct.similar:
            flipped = _verify(
                a.mirror_keypoints,
                a.mirror_descriptors,
                b,
                a.work_shape,
                ratio,
                a.thumb[:, ::-1],
                flat,
                (None if va is None else np.ascontiguousarray(va[:, ::-1]), vb),
            )
            rank_f = (flipped.similar, flipped.inliers, flipped.similarity)
            if rank_f > (direct.similar, direct.inliers, direct.similarity):
                best, mirrored = flipped, True
    # No keypoint model at all: the dense alignment. (A model whose pixels disagree
    # stands: the dense placement would find the same frame; unless one picture is turned
    # in its canvas, where the keypoints of a repetitive design fit a turn that is off.)
    turned = bool(a.turn or b.turn) and not best.similar
    if (best.inliers < MIN_INLIERS or turned) and a.thumb.size and b.thumb.size:
        found = _dense(a, b, flat, (va, vb))
        if found is not None:
            best, mirrored, dense = found, False, True
    h = best.homography
    searched = _searched(a, b)
    if h is None:
        return LocalMatch(best.matches, 0, 0.0, False, None, searched=searched)
    # Back to original pixels: a (x, y) -> [flip] -> working a -> H -> working b -> b.
    to_work_a = np.diag([a.scale, a.scale, 1.0])
    if mirrored:
        flip = np.array([[-1.0, 0.0, a.work_shape[1] - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        to_work_a = flip @ to_work_a
    from_work_b = np.diag([1 / b.scale, 1 / b.scale, 1.0])
    full = from_work_b @ h @ to_work_a
    return LocalMatch(
        best.matches,
        best.inliers,
        best.similarity,
        mirrored,
        full / full[2, 2],
        best.coverage_a,
        best.coverage_b,
        best.overlap_a,
        best.overlap_b,
        best.agreement,
        best.local_edit,
        dense,
        searched,
    )


def _searched(a: LocalFeatures, b: LocalFeatures) -> bool:
    """Whether both pictures have :data:`RICH_KEYPOINTS` and shapes within
    :data:`SAME_SHAPE` of each other (see :attr:`LocalMatch.searched`)."""
    if min(len(a), len(b)) < RICH_KEYPOINTS:
        return False
    (ha, wa), (hb, wb) = a.work_shape, b.work_shape
    if min(ha, wa, hb, wb) <= 0:
        return False
    same = aspect_similarity(np.array([wa, ha], float), np.array([wb, hb], float))
    return bool(same >= 1.0 / (1.0 + SAME_SHAPE))


def local_similarity(a: np.ndarray, b: np.ndarray, **kw: object) -> LocalMatch:
    """Extract both images and match them; ``kw`` goes to extract_local (detector,
    max_side, n_features) or match_local (ratio)."""
    ratio = float(kw.pop("ratio", 0.75))  # type: ignore[arg-type]
    fa = extract_local(a, **kw)  # type: ignore[arg-type]
    fb = extract_local(b, **kw)  # type: ignore[arg-type]
    return match_local(fa, fb, ratio=ratio)


class LocalMethod(Method):
    """Local-feature verification as a method of the registry (``orb``, ``sift``).

    The feature is a :class:`LocalFeatures` object; pairs are compared one by one.
    ``similarity`` is put on the scale the reports share: a verified partial copy
    (:attr:`LocalMatch.similar`) scores 0.85-1.0, rising with the share of consistent
    matches; an unverified pair scores below 0.5. So "similar" means "verified".
    """

    kind: ClassVar[Kind] = "pair"
    metric = "inliers"
    grey = True
    min_size = 360  # short side for a 640 px long side at 16:9; draft decoding below that
    version: ClassVar[int] = 7
    thresholds = Thresholds(similar=0.85, different=0.5, identical=1.01)
    reference = (
        "Rublee et al., ORB, ICCV 2011; Lowe, SIFT, IJCV 2004; Fischler & Bolles, RANSAC, CACM 1981"
    )

    def __init__(self, detector: str = "orb", max_side: int = 640, n_features: int = 1000):
        if detector not in DETECTORS:
            raise ValueError(f"unknown detector {detector!r}; expected one of {DETECTORS}")
        self.name = detector  # type: ignore[misc]
        self.detector = detector
        self.max_side = max_side
        self.n_features = n_features

    def prepare(self, image: Image.Image) -> LocalFeatures:
        return extract_local(
            np.asarray(image.convert("L") if image.mode != "L" else image),
            detector=self.detector,
            max_side=self.max_side,
            n_features=self.n_features,
        )

    def compute(self, prepared: Sequence[LocalFeatures]) -> list[LocalFeatures]:
        return list(prepared)

    def relations(
        self, a: Sequence[LocalFeatures], b: Sequence[LocalFeatures]
    ) -> list[tuple[float, str, str]]:
        """(calibrated similarity, relation or "", :func:`geometry` as seen from ``a``) of
        aligned pairs, one match each."""
        out: list[tuple[float, str, str]] = []
        for x, y in zip(a, b, strict=True):
            first, second = _canonical(x, y)
            m = match_local(first, second)
            out.append((calibrated(m), m.relation or "", geometry(m, swapped=first is not x)))
        return out

    def similarity(self, a: Sequence[LocalFeatures], b: Sequence[LocalFeatures]) -> np.ndarray:
        """Calibrated similarity of aligned pairs; symmetric, as every method's is.

        :func:`match_local` is directional (the ratio test runs from ``a`` into ``b``), so
        each pair is matched in one canonical order: the same score either way round, at
        the cost of one match.
        """
        return np.array(
            [calibrated(match_local(*_canonical(x, y))) for x, y in zip(a, b, strict=True)]
        )


def _canonical(x: LocalFeatures, y: LocalFeatures) -> tuple[LocalFeatures, LocalFeatures]:
    """``(x, y)`` or ``(y, x)``, the same for both orders: fewer keypoints first, then a
    total order on the shapes and descriptor bytes (compared only on a tie)."""
    kx, ky = (len(x), x.work_shape), (len(y), y.work_shape)
    if kx != ky:
        return (x, y) if kx < ky else (y, x)
    return (x, y) if x.descriptors.tobytes() <= y.descriptors.tobytes() else (y, x)


def geometry(m: LocalMatch, *, swapped: bool = False) -> str:
    """What a verified match measured, as ``key=value`` fields joined by ``;``:

    ``angle`` (degrees the first image is turned by to land on the second, mirror undone,
    in (-180, 180]), ``scale`` (linear, second / first), ``mirror`` (0/1), ``keep_a`` and
    ``keep_b`` (the share of each image inside the other's frame), ``edit`` (0/1: the
    pixels disagree in one block only). ``swapped``: the match ran from the second image
    to the first, so the fields are turned round. Empty when nothing is verified.
    """
    if not m.verified or m.homography is None:
        return ""
    lin = m.homography[:2, :2].astype(np.float64)
    if m.mirrored:
        lin = lin @ np.diag([-1.0, 1.0])
    det = float(np.linalg.det(lin))
    scale = float(np.sqrt(abs(det))) if det else 1.0
    angle = float(np.degrees(np.arctan2(lin[1, 0] - lin[0, 1], lin[0, 0] + lin[1, 1])))
    keep_a, keep_b = m.overlap_a, m.overlap_b
    if swapped:  # the inverse map; a mirror-then-turn is its own inverse's shape
        angle = angle if m.mirrored else -angle
        scale, keep_a, keep_b = 1.0 / max(scale, 1e-9), keep_b, keep_a
    if angle <= -180.0:
        angle += 360.0
    return (
        f"angle={angle:.1f};scale={scale:.4g};mirror={int(m.mirrored)};"
        f"keep_a={keep_a:.3f};keep_b={keep_b:.3f};edit={int(m.local_edit)}"
    )


def calibrated(m: LocalMatch) -> float:
    """A match's similarity on the shared scale: verified 0.85-1.0, unverified < 0.5."""
    if m.similar:
        return 0.85 + 0.15 * min(1.0, (m.similarity - SIMILAR_AT) / (0.5 - SIMILAR_AT))
    return 0.5 * min(1.0, m.similarity / SIMILAR_AT) * min(1.0, m.inliers / MIN_INLIERS) * 0.999
