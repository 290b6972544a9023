"""A verified pair is not verified again: verdicts are kept by the two images' digests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

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
    options = DupesOptions(jobs=1, cache=str(tmp_path / "cache.sqlite"))
    first = find_duplicates([folder], options)
    assert sum(verified) > 0
    verified.clear()
    second = find_duplicates([folder], options)
    assert sum(verified) == 0  # every verdict came from the cache
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
