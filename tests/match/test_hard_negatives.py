"""Hard negatives: distinct images that share a template, a logo, a palette or a blank page.

Each set comes from :mod:`lookalike.evaluate.hard_negatives` (seeded) and goes through
the real ``find_duplicates``; the counts are those measured in docs/accuracy.md ("Hard
negatives"). Every set keeps a positive control: a true copy inside it is still found.
Targets not met yet are ``xfail(strict=True)``: they fail loudly once they pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import lookalike
from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.evaluate.hard_negatives import HardSet, Outcome, evaluate, make_set


def _run(name: str, tmp: Path) -> tuple[HardSet, Outcome]:
    hard = make_set(name, tmp, seed=0)
    report = find_duplicates([hard.folder], DupesOptions(cache=""))
    return hard, evaluate(hard, [(p.a, p.b, p.method) for p in report.pairs])


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[HardSet, Outcome]]:
    tmp = tmp_path_factory.mktemp("hard")
    names = ("charts", "logos", "dark", "recoloured", "reframed", "flat", "text")
    return {n: _run(n, tmp) for n in names}


def _by(o: Outcome, method: str) -> int:
    return sum(1 for *_, m in o.false_pairs if m == method)


def test_photos_sharing_a_logo_or_login_widget_are_not_copies(outcomes) -> None:
    hard, o = outcomes["logos"]
    assert o.false_pairs == [] and o.copies_found == o.copies == 1
    a, b = (hard.folder / n for n in ("wallpaper_01.jpg", "wallpaper_03.jpg"))
    c = lookalike.compare(a, b)
    assert c.verdict == "different" and c.scores["orb"].relation == "shares a region"


def test_two_crops_of_one_photo_that_overlap_little_are_not_copies(outcomes) -> None:
    _, o = outcomes["reframed"]
    assert o.false_pairs == [] and o.copies_found == o.copies == 1


def test_flat_and_blank_images_are_copies_only_when_nearly_the_same_pixels(outcomes) -> None:
    _, o = outcomes["flat"]
    assert o.false_pairs == []
    # the resized solid colour is found; the blank scan resaved at quality 75 is not (its
    # grain changes: every layer sees noise) -- measured, not wanted
    assert o.copies_found == 1


def test_distinct_charts_on_one_template_are_not_verified_by_keypoints(outcomes) -> None:
    """ORB used to decide 134 chart pairs; the pixel check leaves at most 4 (coverage at
    0.5; an edit confined to one block of tiles, which keeps captioned copies, lets 2 more
    through)."""
    _, o = outcomes["charts"]
    assert _by(o, "orb") <= 4
    assert o.copies_found == o.copies == 2


def test_keypoints_that_find_nothing_in_two_rich_charts_overrule_colour_and_content(
    outcomes,
) -> None:
    """Colour + content merged 31 pairs of distinct charts (21 of them with the set's
    small JPEG copy of chart 0, where ORB finds too few matches to see the template);
    each chart has hundreds of keypoints and none of those pairs has a model, which now
    says "nothing shared". The one left is two bar charts whose keypoints align the
    template (ORB's "copy": the bars differ in one block of tiles)."""
    hard, o = outcomes["charts"]
    assert _by(o, "content") <= 1
    assert o.copies_found == o.copies == 2
    a, b = (hard.folder / n for n in ("chart_00_small.jpg", "chart_06.png"))
    c = lookalike.compare(a, b)
    assert c.verdict == "different" and c.scores["orb"].relation == "nothing shared"
    assert c.scores["content"].verdict == "similar"  # what used to decide


@pytest.mark.xfail(
    strict=True,
    reason="hashes within 4-6 bits (about 4) and bar charts whose keypoints align the "
    "template (about 4) still merge some charts",
)
def test_distinct_charts_on_one_template_give_no_false_pair(outcomes) -> None:
    assert outcomes["charts"][1].false_pairs == []


def test_dark_centre_weighted_designs(outcomes) -> None:
    """Rotated / mirrored pHash matches need a witness; their copies are still found.
    A mostly dark mask ("flat") needs the same pixels, and two designs rich in keypoints
    with none shared are not (content decided 6 pairs before that, 3 after)."""
    _, o = outcomes["dark"]
    assert _by(o, "phash8") == 0
    assert _by(o, "content") <= 3
    assert o.copies_found == o.copies == 3


@pytest.mark.xfail(strict=True, reason="content (about 3) and ORB on few detailed tiles (about 6)")
def test_dark_designs_give_no_false_pair(outcomes) -> None:
    assert outcomes["dark"][1].false_pairs == []


def test_recoloured_themes_of_one_design(outcomes) -> None:
    """Same design, same luminance order (light/sepia, dark/blue): called similar, as the
    same drawing; inverted themes (light/dark) are not matched by any layer."""
    _, o = outcomes["recoloured"]
    assert o.related_found == 10 and o.copies_found == 1
    assert len(o.false_pairs) <= 1


def test_text_pages_sharing_a_paragraph(outcomes) -> None:
    _, o = outcomes["text"]
    assert _by(o, "orb") <= 1
    assert o.copies_found == o.copies == 2


@pytest.mark.xfail(strict=True, reason="pages in one layout hash within 5 bits (about 10 pairs)")
def test_text_pages_give_no_false_pair(outcomes) -> None:
    assert outcomes["text"][1].false_pairs == []
