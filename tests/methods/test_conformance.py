"""Every registered method keeps its own promises, on real photos and edited copies.

One conformance test over all methods (perception's idea): a batch gives one row per
image; similarity is in [0, 1], symmetric and at its maximum on identical rows; distance
agrees with similarity as the method documents; a code method's ``distance_matrix`` and
``distance_thresholds`` agree with its ``distance`` and ``thresholds``; verdicts rise
with similarity; a candidate finder never decides; a vector or pair method has no
Hamming path. A method that inherits something whose meaning it changes fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
from PIL import Image, ImageOps

from lookalike.methods import REGISTRY, CodeMethod, Method, get_method
from lookalike.methods.base import Kind

#: (test id, registry name, options): every registered method, and the 16x16 hashes.
SPECS: list[tuple[str, str, dict[str, Any]]] = [
    *[(name, name, {}) for name in REGISTRY],
    *[(f"{n}-16", n, {"hash_size": 16}) for n in ("phash", "ahash", "dhash", "whash")],
    ("color-pearson", "color", {"metric": "pearson"}),
]
#: The same, split by what they promise (building a method is cheap; no pixels yet).
_BUILT = {key: get_method(name, **options) for key, name, options in SPECS}
CODE = [s for s in SPECS if isinstance(_BUILT[s[0]], CodeMethod)]
ARRAYS = [s for s in SPECS if _BUILT[s[0]].kind != "pair"]
CANDIDATE_ONLY = [s for s in SPECS if not _BUILT[s[0]].decides]
#: Verdicts in rising order of likeness.
RANK = {"different": 0, "uncertain": 1, "similar": 2, "identical": 3}
#: Pair methods match keypoints pair by pair (ms each): they see a smaller set.
PAIR_IMAGES = 8


def _edits(im: Image.Image) -> list[Image.Image]:
    """Resized, greyscale, cropped and mirrored copies of one photo."""
    w, h = im.size
    return [
        im.resize((w // 2, h // 2), Image.Resampling.LANCZOS),
        im.convert("L").convert("RGB"),
        im.crop((w // 8, h // 8, w - w // 8, h - h // 8)),
        ImageOps.mirror(im),
    ]


@pytest.fixture(scope="module")
def images(sample_photos: list[Path]) -> list[Image.Image]:
    """The committed photos, then edited copies of two of them."""
    originals = [Image.open(p).convert("RGB") for p in sample_photos]
    return [*originals, *_edits(originals[0]), *_edits(originals[3])]


_FEATURES: dict[str, tuple[Method, Any, int]] = {}


def _built(
    spec: tuple[str, str, dict[str, Any]], images: list[Image.Image]
) -> tuple[Method, Any, int]:
    """(method, features of the images it sees, how many images), once per spec."""
    key, name, options = spec
    if key not in _FEATURES:
        m = get_method(name, **options)
        ims = images[:4] + images[-4:] if m.kind == "pair" else images
        ims = [im.convert("L") if m.grey else im for im in ims]
        _FEATURES[key] = (m, m.features(ims), len(ims))
    return _FEATURES[key]


def _ids(specs: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [s[0] for s in specs]


@pytest.fixture(params=SPECS, ids=_ids(SPECS))
def built(request: pytest.FixtureRequest, images: list[Image.Image]) -> tuple[Method, Any, int]:
    """Every method, with its features of the images."""
    return _built(request.param, images)


@pytest.fixture(params=ARRAYS, ids=_ids(ARRAYS))
def built_array(
    request: pytest.FixtureRequest, images: list[Image.Image]
) -> tuple[Method, Any, int]:
    """The methods whose features are one array row per image (code and vector kinds)."""
    return _built(request.param, images)


@pytest.fixture(params=CODE, ids=_ids(CODE))
def built_code(
    request: pytest.FixtureRequest, images: list[Image.Image]
) -> tuple[Method, Any, int]:
    """The Hamming-code methods."""
    return _built(request.param, images)


@pytest.fixture(params=CANDIDATE_ONLY, ids=_ids(CANDIDATE_ONLY))
def built_candidate(
    request: pytest.FixtureRequest, images: list[Image.Image]
) -> tuple[Method, Any, int]:
    """The methods that only find candidates (``decides = False``)."""
    return _built(request.param, images)


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (i, j) of every ordered pair, the diagonal included."""
    i, j = np.indices((n, n))
    return i.ravel(), j.ravel()


def _rows(f: Any, idx: np.ndarray) -> Any:
    return f[idx] if isinstance(f, np.ndarray) else [f[k] for k in idx]


def _similarities(m: Method, f: Any, n: int) -> np.ndarray:
    """(n, n) similarity of every ordered pair, through aligned rows."""
    i, j = _pairs(n)
    return np.asarray(m.similarity(_rows(f, i), _rows(f, j)), dtype=np.float64).reshape(n, n)


def test_a_batch_has_one_feature_row_per_image(built: tuple[Method, Any, int]) -> None:
    _, f, n = built
    assert len(f) == n
    if isinstance(f, np.ndarray):
        assert f.ndim == 2 and f.shape[0] == n


def test_features_do_not_depend_on_the_rest_of_the_batch(
    built_array: tuple[Method, Any, int], images: list[Image.Image]
) -> None:
    m, f, _ = built_array
    k = 5
    one = m.features([images[k].convert("L") if m.grey else images[k]])
    assert np.array_equal(one[0], f[k])


def test_similarity_is_in_0_1_symmetric_and_highest_on_identical_rows(
    built: tuple[Method, Any, int],
) -> None:
    m, f, n = built
    s = _similarities(m, f, n)
    assert np.all((s >= 0.0) & (s <= 1.0)), s
    assert np.allclose(s, s.T, atol=1e-12), np.argwhere(~np.isclose(s, s.T, atol=1e-12))
    diagonal = np.diag(s)
    if m.kind == "pair":  # the most a verified match scores is "similar", up to 1.0
        assert all(m.verdict(float(v)) == "similar" for v in diagonal), diagonal
        assert np.all(diagonal >= s.max(axis=1) - 1e-12)
    else:
        assert np.allclose(diagonal, 1.0), diagonal


def test_distance_agrees_with_similarity_as_documented(built: tuple[Method, Any, int]) -> None:
    m, f, n = built
    i, j = _pairs(n)
    a, b = _rows(f, i), _rows(f, j)
    s = np.asarray(m.similarity(a, b), dtype=np.float64)
    d = np.asarray(m.distance(a, b), dtype=np.float64)
    if isinstance(m, CodeMethod):  # Hamming bits: similarity = 1 - d / bits
        assert np.all(d == np.round(d)) and np.all((d >= 0) & (d <= m.bits))
        assert np.allclose(s, 1.0 - d / m.bits, rtol=0, atol=1e-12)
    else:
        assert np.allclose(d, 1.0 - s, rtol=0, atol=1e-12)


def test_a_code_methods_distance_matrix_is_its_distance_on_every_pair(
    built_code: tuple[Method, Any, int],
) -> None:
    m, f, n = built_code
    assert isinstance(m, CodeMethod)
    i, j = _pairs(n)
    expected = np.asarray(m.distance(f[i], f[j])).reshape(n, n)
    assert np.array_equal(m.distance_matrix(f, f), expected)
    assert np.array_equal(m.distance_matrix(f[:3], f[2:]), expected[:3, 2:])


def test_a_code_methods_distance_thresholds_are_its_thresholds_in_bits(
    built_code: tuple[Method, Any, int],
) -> None:
    m, _, _ = built_code
    assert isinstance(m, CodeMethod)
    similar_at, different_above = m.distance_thresholds()

    def verdict(bits: int) -> str:
        return m.verdict(1.0 - bits / m.bits)

    assert verdict(similar_at) in ("similar", "identical")
    assert verdict(similar_at + 1) not in ("similar", "identical")
    assert verdict(different_above) != "different"
    assert verdict(different_above + 1) == "different"


def test_verdict_rises_with_similarity(built: tuple[Method, Any, int]) -> None:
    m, _, _ = built
    t = m.thresholds
    grid = np.unique(
        np.concatenate([np.linspace(0.0, 1.0, 2001), [t.similar, t.different, t.identical]])
    )
    ranks = [RANK[m.verdict(float(s))] for s in grid if 0.0 <= s <= 1.0]
    assert ranks == sorted(ranks)
    if m.decides:
        assert m.verdict(0.0) == "different"
        assert m.verdict(1.0) in ("identical", "similar")


def test_a_candidate_finder_never_decides(built_candidate: tuple[Method, Any, int]) -> None:
    m, f, n = built_candidate
    grid = np.linspace(0.0, 1.0, 1001)
    assert {m.verdict(float(s)) for s in grid} == {"uncertain"}
    assert {m.verdict(float(s)) for s in _similarities(m, f, n).ravel()} == {"uncertain"}


def test_kind_and_metric_are_declared_and_only_code_is_hamming(
    built: tuple[Method, Any, int],
) -> None:
    m, _, _ = built
    assert m.kind in get_args(Kind)
    assert isinstance(m.metric, str) and m.metric
    assert m.reference
    is_code = isinstance(m, CodeMethod)
    assert is_code == (m.kind == "code") == (m.metric == "hamming")
    if not is_code:  # no caller may take a Hamming path for a vector or pair method
        assert not hasattr(m, "distance_matrix")
        assert not hasattr(m, "distance_thresholds")
