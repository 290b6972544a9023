"""Candidates that find what the cascade can confirm (issue 10, item 2).

Real sample photos and copies made here -- a window with a title bar (a screenshot of the
photo), a 55 % corner crop, an 80 % centre crop, a 7 degree rotation -- must each be
*proposed* by :func:`lookalike.match.engine.candidate_pairs` and grouped with their
source by ``find_duplicates``; the unrelated samples are proposed only a bounded number
of times.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.evaluate.attacks import apply_attack
from lookalike.features import extract_features
from lookalike.match.cascade import DEFAULT_LAYERS
from lookalike.match.engine import candidate_pairs, layer_methods
from lookalike.methods.regions import content_box

#: Copies made of each sample: name -> edit.
EDITS = {
    "framed": lambda im: apply_attack(im, "screenshot", "mild"),
    "corner55": lambda im: im.crop((0, 0, round(0.55 * im.width), round(0.55 * im.height))),
    "centre80": lambda im: im.crop(
        (
            round(0.1 * im.width),
            round(0.1 * im.height),
            round(0.9 * im.width),
            round(0.9 * im.height),
        )
    ),
    "rot7": lambda im: im.rotate(7, resample=Image.Resampling.BILINEAR, expand=True),
}
#: The samples used as sources (the others stay unrelated pictures).
SOURCES = 4


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    """The samples (long side 800) and the edited copies of the first ``SOURCES``."""
    out = tmp_path_factory.mktemp("recall")
    for k, p in enumerate(sample_photos):
        im = Image.open(p).convert("RGB")
        im.thumbnail((800, 800))
        im.save(out / f"{p.stem}.jpg", quality=90)
        if k < SOURCES:
            for name, edit in EDITS.items():
                edit(im).save(out / f"{p.stem}__{name}.jpg", quality=90)
    return out


def _pairs(paths: list[Path], regions: bool = True) -> tuple[list[str], np.ndarray]:
    methods = layer_methods(DEFAULT_LAYERS)
    fs = extract_features([str(p) for p in paths], methods)
    assert not fs.failures
    return fs.paths, candidate_pairs(fs, methods, regions=regions)


def test_every_edited_copy_is_proposed_with_its_source(folder: Path) -> None:
    paths = sorted(folder.glob("*.jpg"))
    names, key = _pairs(paths)
    n = len(names)
    index = {Path(p).stem: i for i, p in enumerate(names)}
    missed = []
    for stem, i in index.items():
        source, _, edit = stem.partition("__")
        if edit:
            j = index[source]
            if min(i, j) * n + max(i, j) not in set(key.tolist()):
                missed.append(stem)
    assert not missed


def test_region_codes_add_few_candidates_among_unrelated_photos(
    sample_photos: list[Path],
) -> None:
    _, with_regions = _pairs(sample_photos)
    _, without = _pairs(sample_photos, regions=False)
    added = np.setdiff1d(with_regions, without)
    n = len(sample_photos)
    # the visual words alone propose each photo's top 5 (most pairs of 8 photos); the
    # region codes may add at most one pair per two photos
    assert len(added) <= n // 2, f"{len(added)} pairs added among {n} unrelated photos"


def test_find_duplicates_groups_each_copy_with_its_source(folder: Path) -> None:
    report = find_duplicates([folder], DupesOptions(cache=""))
    group_of = {Path(m.path).stem: g for g, grp in enumerate(report.groups) for m in grp.members}
    missed = [
        stem
        for stem in group_of.keys() | {p.stem for p in folder.glob("*__*.jpg")}
        if "__" in stem
        and (group_of.get(stem) is None or group_of.get(stem) != group_of.get(stem.split("__")[0]))
    ]
    # ORB verifies a 55 % corner crop less often (2 of 4 samples when this was written):
    # the candidate is proposed (test above), the keypoint layer decides
    assert not [m for m in missed if not m.endswith("corner55")], missed
    assert len(missed) <= 2, missed
    sources = {stem.split("__")[0] for stem in group_of}
    assert len(sources) == SOURCES  # no unrelated sample joined a group


def test_the_content_box_of_a_framed_photo_is_the_photo() -> None:
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (60, 100)).astype(np.uint8)
    framed = np.full((120, 200), 90, np.uint8)
    framed[20:30, 40:140] = 222  # a title bar ...
    framed[24:27, 60:80] = 0  # ... with a title
    framed[30:90, 40:140] = picture
    left, top, right, bottom = content_box(framed)
    assert abs(left - 40) <= 1 and abs(right - 140) <= 1
    assert abs(top - 30) <= 1 and abs(bottom - 90) <= 1
    assert content_box(picture) == (0, 0, 100, 60)  # nothing to trim
