"""Local-feature verification on real photos: partial copies are found, unrelated ones not.

Attacks are generated from real wallpapers (the shared corpus, or two small committed
copies in tests/data/local/ so that a few tests always run): crops, rotations, a mirror
image, a photo pasted at 40% into another, an added border and caption.
"""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from lookalike.errors import LookalikeError
from lookalike.methods.local import (
    MIN_INLIERS,
    RICH_KEYPOINTS,
    SIMILAR_AT,
    LocalFeatures,
    LocalMatch,
    extract_local,
    geometry,
    local_similarity,
    match_local,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "local"
from corpus import CORPUS  # noqa: E402

ORIGINALS = CORPUS / "photos" / "originals"
needs_corpus = pytest.mark.skipif(
    not ORIGINALS.is_dir(), reason=f"shared corpus not found at {ORIGINALS}"
)

# Textured photos and artwork of the corpus; smooth gradients (Elarun, wood, vnc, ...) have
# too few corners for any local-feature method and are left to the global layers.
ATTACKED = ["Autumn", "ColorfulCups", "EveningGlow", "MilkyWay", "OneStandsOut", "Shell"]
# The photo the 40% copies are pasted into. A busy host (a forest, boats) claims most of
# the 1000 keypoints and lowers recall for pastes: see the module docstring of local.py.
HOST = "Kite"


def _load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _corpus(name: str) -> np.ndarray:
    return _load(ORIGINALS / f"{name}.jpg")


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    return np.asarray(Image.fromarray(image).rotate(degrees, Image.BICUBIC, expand=True))


def _crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Crop a fractional (left, top, right, bottom) box and scale it back to full size."""
    h, w = image.shape[:2]
    pil = Image.fromarray(image)
    part = pil.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    return np.asarray(part.resize((w, h), Image.BICUBIC))


def _paste(image: np.ndarray, host: np.ndarray, fraction: float = 0.4) -> np.ndarray:
    h, w = image.shape[:2]
    hh, hw = host.shape[:2]
    small = Image.fromarray(image).resize((int(hw * fraction), int(hw * fraction * h / w)))
    canvas = Image.fromarray(host).copy()
    canvas.paste(small, (int(hw * 0.3), int(hh * 0.25)))
    return np.asarray(canvas)


def _caption(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    canvas = Image.new("RGB", (w + w // 5, h + h // 5 + h // 6), "white")
    canvas.paste(Image.fromarray(image), (w // 10, h // 10))
    font = ImageFont.load_default(size=max(10, h // 14))
    ImageDraw.Draw(canvas).text((w // 10, h + h // 10 + 4), "A CAPTION, 2024", "black", font)
    return np.asarray(canvas)


ATTACKS = {
    "crop_centre_half": lambda im, host: _crop(im, (0.25, 0.25, 0.75, 0.75)),
    "crop_corner": lambda im, host: _crop(im, (0.0, 0.0, 0.6, 0.6)),
    "rot90": lambda im, host: np.ascontiguousarray(np.rot90(im, 1)),
    "rot180": lambda im, host: np.ascontiguousarray(np.rot90(im, 2)),
    "rot270": lambda im, host: np.ascontiguousarray(np.rot90(im, 3)),
    "rot5": lambda im, host: _rotate(im, 5),
    "rot15": lambda im, host: _rotate(im, -15),
    "mirror": lambda im, host: np.ascontiguousarray(im[:, ::-1]),
    "paste40": lambda im, host: _paste(im, host),
    "caption_border": lambda im, host: _caption(im),
}


#: Verified by keypoints, but the pixel check (grey thumbnails, NCC per tile) cannot see
#: the stars of a small pasted star field agree: reported as "shares a region".
PIXEL_MISSES = {("MilkyWay", "paste40")}


def _verified(m: LocalMatch) -> bool:
    return m.similar and m.similarity >= SIMILAR_AT and m.inliers >= MIN_INLIERS


# --- always run: two small committed photos ---------------------------------------------


@pytest.fixture(scope="module")
def small() -> dict[str, np.ndarray]:
    return {p.stem: _load(p) for p in sorted(DATA.glob("*.jpg"))}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_on_committed_photo_is_verified(small: dict[str, np.ndarray], attack: str) -> None:
    image, host = small["SafeLanding"], small["EveningGlow"]
    m = local_similarity(image, ATTACKS[attack](image, host))
    assert _verified(m), (attack, m)
    assert m.mirrored == (attack == "mirror")
    assert m.homography is not None and m.homography.shape == (3, 3)


def test_committed_photos_are_unrelated(small: dict[str, np.ndarray]) -> None:
    a, b = small["EveningGlow"], small["SafeLanding"]
    for x, y in ((a, b), (b, a), (a, b[:, ::-1])):
        m = local_similarity(x, y)
        assert not m.similar, m
        assert m.similarity < SIMILAR_AT


def test_homography_maps_the_original_onto_the_copy(small: dict[str, np.ndarray]) -> None:
    """The returned 3x3 maps original-pixel coordinates of a onto those of b."""
    image = small["EveningGlow"]
    h, w = image.shape[:2]
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [w - 1, h - 1, 1]], float)

    def project(hom: np.ndarray) -> np.ndarray:
        p = corners @ hom.T
        return p[:, :2] / p[:, 2:]

    # np.rot90(k=1) turns counter-clockwise: (x, y) -> (y, w - 1 - x)
    m = local_similarity(image, np.ascontiguousarray(np.rot90(image)))
    expected = np.array([[0, w - 1], [0, 0], [h - 1, 0]], float)
    np.testing.assert_allclose(project(m.homography), expected, atol=0.02 * w)
    # the mirror image: (x, y) -> (w - 1 - x, y), a reflection (det < 0)
    m = local_similarity(image, np.ascontiguousarray(image[:, ::-1]))
    assert m.mirrored
    expected = np.array([[w - 1, 0], [0, 0], [0, h - 1]], float)
    np.testing.assert_allclose(project(m.homography), expected, atol=0.02 * w)
    assert np.linalg.det(m.homography[:2, :2]) < 0


def test_features_layout_and_serialisation(small: dict[str, np.ndarray]) -> None:
    image = small["SafeLanding"]
    f = extract_local(image, max_side=400, n_features=500)
    h, w = image.shape[:2]
    assert f.shape == (h, w) and max(f.work_shape) == 400 and f.detector == "orb"
    assert 100 < len(f) <= 500
    assert f.keypoints.dtype == np.float32 and f.keypoints.shape == (len(f), 2)
    assert f.descriptors.dtype == np.uint8 and f.descriptors.shape == (len(f), 32)
    assert f.mirror_descriptors.shape[1] == 32 and len(f.mirror_keypoints) > 100
    assert f.keypoints[:, 0].max() < f.work_shape[1] and f.keypoints[:, 1].max() < f.work_shape[0]
    blob = f.to_bytes()
    assert isinstance(blob, bytes)
    for g in (LocalFeatures.from_bytes(blob), pickle.loads(pickle.dumps(f))):
        assert (g.detector, g.shape, g.work_shape, g.scale) == (
            f.detector,
            f.shape,
            f.work_shape,
            f.scale,
        )
        for name in (
            "keypoints",
            "sizes",
            "angles",
            "descriptors",
            "mirror_keypoints",
            "mirror_descriptors",
        ):
            np.testing.assert_array_equal(getattr(g, name), getattr(f, name))
            assert getattr(g, name).dtype == getattr(f, name).dtype
    # a cached copy matches exactly like the fresh one
    other = extract_local(np.ascontiguousarray(np.rot90(image)), max_side=400, n_features=500)
    m1, m2 = match_local(f, other), match_local(LocalFeatures.from_bytes(blob), other)
    assert (m1.inliers, m1.similarity) == (m2.inliers, m2.similarity) and m1.similar
    with pytest.raises(LookalikeError):
        LocalFeatures.from_bytes(b"not a feature blob")


def test_grey_input_and_sift(small: dict[str, np.ndarray]) -> None:
    image = small["EveningGlow"]
    grey = np.asarray(Image.fromarray(image).convert("L"))
    assert extract_local(grey).work_shape == grey.shape
    assert local_similarity(grey, image).similarity == pytest.approx(1.0, abs=0.02)
    fa = extract_local(image, detector="sift")
    fb = extract_local(np.ascontiguousarray(image[::-1, ::-1]), detector="sift")
    assert fa.descriptors.dtype == np.float32 and fa.descriptors.shape[1] == 128
    assert _verified(match_local(fa, fb))
    with pytest.raises(ValueError, match="cannot match"):
        match_local(fa, extract_local(image))


def test_featureless_and_bad_input() -> None:
    flat = np.full((300, 400, 3), 128, np.uint8)
    f = extract_local(flat)
    assert len(f) == 0 and f.descriptors.shape == (0, 32)
    m = match_local(f, f)
    assert (m.matches, m.inliers, m.similarity, m.homography) == (0, 0, 0.0, None)
    assert not m.similar
    with pytest.raises(LookalikeError):
        extract_local(np.zeros((10, 10), np.float32))
    with pytest.raises(LookalikeError):
        extract_local(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ValueError, match="unknown detector"):
        extract_local(flat, detector="surf")


def test_pictures_rich_in_keypoints_that_share_nothing_say_so(small: dict[str, np.ndarray]) -> None:
    """Two unrelated photos of one shape, each with hundreds of keypoints and no model
    between them: "nothing shared", the keypoints' objection to a copy that only the
    global layers see. Not said where the keypoints had no fair chance: a picture poor in
    them, or shapes apart (a squeezed copy defeats the descriptors)."""
    glow, landing = small["EveningGlow"], small["SafeLanding"]
    same_shape = glow[16 : 16 + landing.shape[0]]  # both 288 x 512
    fa, fb = extract_local(same_shape), extract_local(landing)
    assert min(len(fa), len(fb)) >= RICH_KEYPOINTS
    m = match_local(fa, fb)
    assert m.searched and m.relation == "nothing shared" and not m.similar
    assert geometry(m) == ""  # nothing verified, nothing measured
    # the other shape (320 x 512 against 288 x 512: 11% apart)
    assert match_local(extract_local(glow), fb).relation is None
    # a picture poor in keypoints: a smooth gradient of the same shape
    ramp = np.broadcast_to(np.linspace(0, 255, landing.shape[1], dtype=np.uint8), landing.shape[:2])
    poor = extract_local(np.ascontiguousarray(ramp))
    assert len(poor) < RICH_KEYPOINTS and match_local(poor, fb).relation is None
    # a copy is still a copy
    assert match_local(fb, extract_local(landing[:, ::-1].copy())).relation == "copy"


# --- the shared corpus ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_features() -> dict[str, LocalFeatures]:
    return {p.stem: extract_local(_load(p)) for p in sorted(ORIGINALS.glob("*.jpg"))}


@needs_corpus
def test_attacks_on_corpus_photos(corpus_features: dict[str, LocalFeatures]) -> None:
    """Every attack is verified on every one of several photos; reports the weakest score."""
    host = _corpus(HOST)
    scores: dict[str, float] = {}
    failures = []
    for name in ATTACKED:
        image = _corpus(name)
        for attack, make in ATTACKS.items():
            m = match_local(corpus_features[name], extract_local(make(image, host)))
            scores[f"{name}/{attack}"] = m.similarity
            if (name, attack) in PIXEL_MISSES:
                assert m.verified and m.relation == "shares a region", (name, attack, m)
                continue
            if not _verified(m) or m.mirrored != (attack == "mirror"):
                failures.append((name, attack, m.inliers, round(m.similarity, 3), m.mirrored))
    weakest = min(scores, key=scores.get)
    print(f"min similarity over {len(scores)} attacked pairs: {scores[weakest]:.3f} ({weakest})")
    assert not failures, failures


@needs_corpus
def test_unrelated_corpus_photos_stay_below_threshold(
    corpus_features: dict[str, LocalFeatures],
) -> None:
    """All 703 pairs of the 38 distinct wallpapers: none verified, and a wide margin."""
    worst = (0.0, 0, "")
    for x, y in itertools.combinations(sorted(corpus_features), 2):
        m = match_local(corpus_features[x], corpus_features[y])
        assert not m.similar, (x, y, m)
        worst = max(worst, (m.similarity, m.inliers, f"{x}/{y}"))
    print(f"max unrelated similarity: {worst[0]:.3f} ({worst[1]} inliers, {worst[2]})")
    assert worst[0] < SIMILAR_AT * 0.75
    assert worst[1] < MIN_INLIERS


@needs_corpus
def test_natural_variants_and_dark_recolourings(
    corpus_features: dict[str, LocalFeatures],
) -> None:
    """The packages' own renditions (other resolutions, screenshots) of textured designs
    are verified. GNOME's __dark recolourings: where the design is redrawn (truchet, grid,
    adwaita, symbolic) nothing matches; licorice and pixels are the same drawing darkened,
    with identical geometry, so local features verify them: that is for a colour-aware
    layer to tell apart, not this one."""
    variants = CORPUS / "photos" / "variants"
    for name in (
        "OneStandsOut__2560x1600",
        "Shell__720x1440",
        "SafeLanding__screenshot",
        "Autumn__screenshot",
        "MilkyWay__1080x1920",
    ):
        m = match_local(
            corpus_features[name.split("__")[0]], extract_local(_load(variants / f"{name}.jpg"))
        )
        assert _verified(m), (name, m)
    for name in ("truchet", "grid", "adwaita", "symbolic"):
        m = match_local(corpus_features[name], extract_local(_load(variants / f"{name}__dark.jpg")))
        assert not m.similar, (name, m)
    m = match_local(
        corpus_features["licorice"], extract_local(_load(variants / "licorice__dark.jpg"))
    )
    assert m.similar, m


@needs_corpus
def test_a_low_contrast_texture_re_encoded_is_a_copy() -> None:
    """GNOME's "symbolic" (small grey icons on green, thumbnail std 2.5 grey levels): every
    tile used to count as flat, so a JPEG re-encode with 400 inliers "shared a region"."""
    import io

    image = _corpus("symbolic")
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=80)
    copy = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    a, b = extract_local(image), extract_local(copy)
    assert a.thumb.std() < 4  # the whole thumbnail is flatter than the fixed flat level
    m = match_local(a, b)
    assert m.relation == "copy" and m.agreement >= 0.75
