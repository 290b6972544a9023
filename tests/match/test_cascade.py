"""The layered decision: every layer and every verdict, from hand-built scores.

A verdict names the layer that spoke: identical (every global method identical), the hash
layer (pHash / phash8 trusted; aHash, wHash, dHash only as the primary hash), the
uncertain band (SSIM, or colour and content together), local features (orb, then sift),
and, with no hash at all, a majority of the non-hash methods in which aspect never votes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from lookalike.match.cascade import CANDIDATE_ONLY, Score, decide, score_rows
from lookalike.methods import CodeMethod, get_method

#: A similarity for each verdict, on every method's own scale (only verdicts are read,
#: except by the majority layer, which names its most similar agreeing voter).
SIM = {"identical": 1.0, "similar": 0.9, "uncertain": 0.7, "different": 0.3}


def s(method: str, verdict: str, similarity: float | None = None) -> Score:
    """A hand-built score: only the verdict (and for ties, the similarity) matter."""
    sim = SIM[verdict] if similarity is None else similarity
    return Score(method, 1.0 - sim, sim, verdict)


def scores(*items: Score) -> dict[str, Score]:
    return {x.method: x for x in items}


# -- nothing to decide from ------------------------------------------------------------


def test_no_scores_raise() -> None:
    with pytest.raises(ValueError, match="no scores"):
        decide({})


@pytest.mark.parametrize("name", CANDIDATE_ONLY)
def test_candidate_only_scores_alone_raise(name: str) -> None:
    with pytest.raises(ValueError, match="no scores"):
        decide(scores(s(name, "identical")))


@pytest.mark.parametrize("verdict", ["identical", "similar", "different"])
def test_candidate_only_methods_are_ignored(verdict: str) -> None:
    base = scores(s("phash", "uncertain"), s("color", "similar"), s("content", "different"))
    with_words = {**base, "words": s("words", verdict)}
    assert decide(with_words) == decide(base) == ("different", "phash")


# -- layer 1: identical ------------------------------------------------------------------


def test_every_global_method_identical_is_identical_named_by_the_first_hash() -> None:
    got = decide(
        scores(
            s("aspect", "identical"),
            s("dhash", "identical"),
            s("phash8", "identical"),
            s("color", "identical"),
            s("ssim", "identical"),
        )
    )
    assert got == ("identical", "phash8")


def test_identical_ignores_local_features() -> None:
    assert decide(scores(s("phash", "identical"), s("orb", "different"))) == (
        "identical",
        "phash",
    )


def test_identical_without_hashes_is_named_by_a_method_that_looked_at_pixels() -> None:
    got = decide(scores(s("aspect", "identical"), s("color", "identical"), s("ssim", "identical")))
    assert got == ("identical", "color")


def test_the_aspect_ratio_alone_never_calls_a_pair_identical() -> None:
    # Two photos of one shape: aspect is "identical", but it never looked at a pixel.
    assert decide(scores(s("aspect", "identical"))) == ("similar", "aspect")


def test_one_global_method_short_of_identical_is_not_identical() -> None:
    got = decide(scores(s("phash", "identical"), s("color", "similar")))
    assert got == ("similar", "phash")


# -- layer 2: hashes ---------------------------------------------------------------------


@pytest.mark.parametrize("trusted", ["phash", "phash8"])
def test_a_trusted_hash_saying_similar_decides(trusted: str) -> None:
    others = [s(n, "different") for n in ("phash", "phash8", "ahash", "whash", "dhash")]
    got = decide({**scores(*others), trusted: s(trusted, "similar")})
    assert got == ("similar", trusted)


@pytest.mark.parametrize("hash_name", ["ahash", "whash", "dhash"])
def test_a_classic_hash_decides_only_as_the_primary(hash_name: str) -> None:
    assert decide(scores(s(hash_name, "similar"))) == ("similar", hash_name)
    behind_phash = scores(s("phash", "different"), s(hash_name, "similar"))
    assert decide(behind_phash) == ("different", "phash")


def test_the_primary_hash_is_the_first_in_cascade_order() -> None:
    # aHash before wHash before dHash: wHash's "similar" is not trusted behind aHash.
    assert decide(scores(s("dhash", "similar"), s("ahash", "different"))) == (
        "different",
        "ahash",
    )
    assert decide(scores(s("dhash", "similar"), s("whash", "different"))) == (
        "different",
        "whash",
    )


def test_every_hash_different_is_different_named_by_the_primary() -> None:
    got = decide(scores(s("phash", "different"), s("ahash", "different"), s("color", "similar")))
    assert got == ("different", "phash")


# -- layer 3: the uncertain band ---------------------------------------------------------


def test_uncertain_hash_and_similar_ssim_is_similar_by_ssim() -> None:
    got = decide(scores(s("phash", "uncertain"), s("ssim", "similar"), s("color", "different")))
    assert got == ("similar", "ssim")


def test_uncertain_hash_and_colour_and_content_similar_is_similar_by_content() -> None:
    got = decide(
        scores(
            s("phash", "uncertain"),
            s("ssim", "different"),
            s("color", "similar"),
            s("content", "identical"),
        )
    )
    assert got == ("similar", "content")


@pytest.mark.parametrize(
    "color, content", [("similar", "uncertain"), ("uncertain", "similar"), ("similar", None)]
)
def test_colour_or_content_alone_does_not_decide_the_band(color: str, content: str | None) -> None:
    items = [s("phash", "uncertain"), s("color", color)]
    if content:
        items.append(s("content", content))
    assert decide(scores(*items)) == ("different", "phash")


def test_the_band_is_consulted_only_when_a_hash_is_uncertain() -> None:
    got = decide(scores(s("phash", "different"), s("ssim", "similar"), s("color", "similar"),
                        s("content", "similar")))  # fmt: skip
    assert got == ("different", "phash")


# -- layer 4: local features -------------------------------------------------------------


@pytest.mark.parametrize("local", ["orb", "sift"])
@pytest.mark.parametrize(
    "verdict, overall",
    [("similar", "similar"), ("uncertain", "different"), ("different", "different")],
)
def test_local_features_decide_what_the_global_layers_cannot(
    local: str, verdict: str, overall: str
) -> None:
    got = decide(scores(s("phash", "different"), s("color", "different"), s(local, verdict)))
    assert got == (overall, local)


def test_local_features_decide_an_uncertain_band_left_undecided() -> None:
    got = decide(scores(s("phash", "uncertain"), s("ssim", "uncertain"), s("orb", "similar")))
    assert got == ("similar", "orb")


def test_orb_speaks_before_sift() -> None:
    got = decide(scores(s("phash", "different"), s("sift", "similar"), s("orb", "different")))
    assert got == ("different", "orb")


def test_local_features_alone_decide() -> None:
    assert decide(scores(s("orb", "similar"))) == ("similar", "orb")
    assert decide(scores(s("sift", "different"))) == ("different", "sift")


def test_a_hash_saying_similar_needs_no_local_features() -> None:
    got = decide(scores(s("phash8", "similar"), s("orb", "different")))
    assert got == ("similar", "phash8")


# -- no hash: majority of the non-hash methods -------------------------------------------


def test_without_hashes_the_majority_of_non_hash_methods_decides() -> None:
    got = decide(scores(s("color", "similar"), s("content", "similar"), s("ssim", "different")))
    assert got == ("similar", "content")  # the band's colour + content rule speaks first
    got = decide(
        scores(
            s("color", "similar", 0.99),
            s("content", "different", 0.5),
            s("ssim", "different", 0.2),
        )
    )
    assert got == ("different", "content")


def test_a_tie_is_not_a_majority() -> None:
    got = decide(scores(s("color", "uncertain", 0.94), s("content", "similar", 0.91)))
    assert got[0] == "different"


def test_the_majority_is_named_by_a_voter_that_agrees_with_it() -> None:
    # colour's raw similarity is the highest, but colour says similar: the pair is
    # different because content and SSIM say so. (A "similar" majority of colour, content
    # and SSIM always has SSIM, or colour and content, similar: the band speaks first.)
    got = decide(
        scores(
            s("color", "similar", 0.99),
            s("content", "uncertain", 0.85),
            s("ssim", "different", 0.4),
        )
    )
    assert got == ("different", "content")


def test_the_aspect_ratio_never_votes() -> None:
    # With aspect voting this would be 2 of 3 similar.
    got = decide(scores(s("aspect", "similar"), s("color", "similar"), s("content", "different")))
    assert got[0] == "different"
    got = decide(scores(s("aspect", "different"), s("color", "similar")))
    assert got == ("similar", "color")


def test_the_aspect_ratio_alone_gives_its_own_verdict() -> None:
    assert decide(scores(s("aspect", "similar"))) == ("similar", "aspect")
    assert decide(scores(s("aspect", "different"))) == ("different", "aspect")


# -- score_rows: each method's own numbers -----------------------------------------------


@pytest.fixture(scope="module")
def photos(sample_photos: list[Path]) -> list[Image.Image]:
    """Four photos, a half-size copy and a mirrored copy of the first."""
    ims = [Image.open(p).convert("RGB") for p in sample_photos[:4]]
    w, h = ims[0].size
    return [*ims, ims[0].resize((w // 2, h // 2)), ImageOps.mirror(ims[0])]


@pytest.mark.parametrize(
    "name",
    [
        "aspect",
        "ahash",
        "dhash",
        "phash",
        "whash",
        "phash8",
        "color",
        "content",
        "ssim",
        "words",
        "orb",
    ],
)
def test_score_rows_carry_each_methods_own_similarity_distance_and_verdict(
    name: str, photos: list[Image.Image]
) -> None:
    m = get_method(name)
    f = m.features([im.convert("L") if m.grey else im for im in photos])
    ia, ib = np.array([0, 0, 0, 1, 2, 5]), np.array([4, 5, 1, 0, 3, 0])
    fa = f[ia] if isinstance(f, np.ndarray) else [f[k] for k in ia]
    fb = f[ib] if isinstance(f, np.ndarray) else [f[k] for k in ib]
    rows = score_rows(m, fa, fb)
    sims = np.atleast_1d(m.similarity(fa, fb))
    dists = np.atleast_1d(m.distance(fa, fb))
    assert len(rows) == len(ia)
    for row, sim, dist in zip(rows, sims, dists, strict=True):
        assert row.method == m.name
        assert row.similarity == pytest.approx(float(sim), abs=1e-12)
        assert row.distance == pytest.approx(float(dist), abs=1e-12)
        assert row.verdict == m.verdict(float(sim))
        if isinstance(m, CodeMethod):
            assert row.distance == int(row.distance)
