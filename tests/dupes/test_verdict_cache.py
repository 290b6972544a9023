"""A verified pair is not verified again: verdicts are kept by the two images' digests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import lookalike.dupes.find as find
import lookalike.match.engine as engine
from lookalike.dupes.find import DupesOptions, find_duplicates


@pytest.fixture
def folder(tmp_path: Path, sample_photos: list[Path]) -> Path:
    """Photos and crops of them: pairs only the keypoint layer can confirm."""
    root = tmp_path / "photos"
    root.mkdir()
    for k, photo in enumerate(sample_photos[:4]):
        shutil.copy(photo, root / f"{k}.jpg")
        im = Image.open(photo)
        w, h = im.size
        im.crop((0, 0, w * 6 // 10, h * 6 // 10)).save(root / f"{k}-crop.jpg", quality=90)
    return root


def test_second_run_verifies_nothing(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[int] = []
    real = engine.verify_pairs

    def counting(method: Any, features: Any, pairs: Any, *args: Any) -> Any:
        verified.append(len(pairs))
        return real(method, features, pairs, *args)

    monkeypatch.setattr(engine, "verify_pairs", counting)
    measured: list[str] = []
    real_measure = find.measure

    def measuring(entry: Any, *args: Any) -> Any:
        measured.append(entry.path)
        return real_measure(entry, *args)

    monkeypatch.setattr(find, "measure", measuring)
    options = DupesOptions(jobs=1, cache=str(tmp_path / "cache.sqlite"))
    first = find_duplicates([folder], options)
    assert sum(verified) > 0 and measured
    verified.clear()
    measured.clear()
    second = find_duplicates([folder], options)
    assert sum(verified) == 0  # every verdict came from the cache
    assert measured == []  # and every keeper fact: nothing decoded again
    assert [p.to_dict() for p in second.pairs] == [p.to_dict() for p in first.pairs]
    assert [g.to_dict() for g in second.groups] == [g.to_dict() for g in first.groups]


def test_a_changed_file_is_verified_again(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = DupesOptions(jobs=1, cache=str(tmp_path / "cache.sqlite"))
    find_duplicates([folder], options)
    Image.open(folder / "0-crop.jpg").save(folder / "0-crop.jpg", quality=60)  # new bytes
    verified: list[int] = []
    real = engine.verify_pairs

    def counting(method: Any, features: Any, pairs: Any, *args: Any) -> Any:
        verified.append(len(pairs))
        return real(method, features, pairs, *args)

    monkeypatch.setattr(engine, "verify_pairs", counting)
    find_duplicates([folder], options)
    assert sum(verified) > 0


def test_a_pair_asked_both_ways_round_is_found_both_ways(tmp_path: Path) -> None:
    """Byte copies of two pictures make a run ask for (a, b) and (b, a) at once; both must
    be answered by the one stored row (40 of 316 pairs were re-verified on every warm run
    of the corpus photos before)."""
    from lookalike.store.verdicts import VerdictCache

    a, b = "11" * 16, "ee" * 16
    with VerdictCache(tmp_path / "v.sqlite") as cache:
        cache.put([(a, b, 0.1, 0.9, "similar", "copy", "angle=0.0")], "scope")
        got = cache.get([(a, b), (b, a)], "scope")
    assert set(got) == {(a, b), (b, a)}
    assert got[(a, b)] == got[(b, a)] == (0.1, 0.9, "similar", "copy", "angle=0.0")
