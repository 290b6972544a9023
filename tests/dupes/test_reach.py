"""A copy the candidate search links only to another copy is checked against its keeper.

Strong edits of a photo (a small window in a screenshot, a 40 % corner, a 20 degree turn)
are often proposed and verified only against a milder edit of the same photo. The star
groups need each member linked to the keeper, so ``dupes`` checks the keeper against the
copies it reaches through others (:func:`lookalike.match.grouping.unlinked_reach`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from corpus import SAMPLES

import lookalike.dupes.find as find
from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.evaluate.dataset import make_benchmark


@pytest.fixture(scope="module")
def edits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    photos = tmp_path_factory.mktemp("photo")
    shutil.copy(SAMPLES / "Kite.jpg", photos)
    out = tmp_path_factory.mktemp("edits") / "bench"
    # seed 9: edits of which some are verified only through other copies (measured: 12
    # in the group with the keeper check, 10 without; the keeper is the source)
    make_benchmark(photos, out, attacks=["screenshot", "corner", "rotate", "crop"], seed=9)
    return out


def _source_group(folder: Path) -> tuple[int, dict[str, int]]:
    report = find_duplicates([folder], DupesOptions(cache=""))
    group = next(
        g for g in report.groups if any(Path(m.path).name == "Kite.jpg" for m in g.members)
    )
    return len(group.members), report.stats["decided_by"]


def test_copies_that_chain_to_the_keeper_join_its_group(edits: Path) -> None:
    members, decided = _source_group(edits)
    assert decided.get("reach", 0) > 0  # pairs asked of the keeper beyond the candidates
    assert members >= 11  # of 13: the source and 12 edits


def test_without_the_keeper_check_the_same_folder_splits(
    edits: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_check, _ = _source_group(edits)
    monkeypatch.setattr(find, "REACH_ROUNDS", 0)
    without, decided = _source_group(edits)
    assert "reach" not in decided and without < with_check
