"""Marks last: "not duplicates" and "keep" survive across runs and moves, export and import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from lookalike.cli import main


def _dupes(folder: Path, cache: Path, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    assert main(["dupes", str(folder), "--cache", str(cache), "--json", "-j", "1"]) == 0
    return json.loads(capsys.readouterr().out)


def test_marks_are_respected_by_later_runs(
    sample_photos: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    cache = tmp_path / "catalog.sqlite"
    shutil.copy(sample_photos[0], folder / "a.jpg")
    im = Image.open(sample_photos[0])
    im.resize((im.width // 2, im.height // 2)).save(folder / "a-small.jpg")
    shutil.copy(sample_photos[1], folder / "b.jpg")
    im_b = Image.open(sample_photos[1])
    im_b.resize((im_b.width // 2, im_b.height // 2)).save(folder / "b-small.jpg")
    first = _dupes(folder, cache, capsys)
    assert len(first["groups"]) == 2
    assert (
        main(
            [
                "mark",
                "--cache",
                str(cache),
                "not-duplicates",
                str(folder / "a.jpg"),
                str(folder / "a-small.jpg"),
            ]
        )
        == 0
    )
    assert main(["mark", "--cache", str(cache), "keep", str(folder / "b-small.jpg")]) == 0
    (folder / "sub").mkdir()
    shutil.move(folder / "b-small.jpg", folder / "sub" / "moved.jpg")  # marks follow content
    capsys.readouterr()
    later = _dupes(folder, cache, capsys)
    assert len(later["groups"]) == 1
    assert later["groups"][0]["keep"] == str(folder / "sub" / "moved.jpg")
    assert later["groups"][0]["reason_key"] == "marked"
    assert main(["mark", "--cache", str(cache), "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {m["kind"] for m in listed["marks"]} == {"not-duplicates", "keep"}
    out = tmp_path / "marks.json"
    assert main(["mark", "--cache", str(cache), "export", str(out)]) == 0
    other = tmp_path / "other.sqlite"
    assert main(["mark", "--cache", str(other), "import", str(out)]) == 0
    capsys.readouterr()
    assert len(_dupes(folder, other, capsys)["groups"]) == 1
    assert (
        main(
            [
                "mark",
                "--cache",
                str(cache),
                "remove",
                "not-duplicates",
                str(folder / "a.jpg"),
                str(folder / "a-small.jpg"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert len(_dupes(folder, cache, capsys)["groups"]) == 2


def test_files_marked_apart_stay_apart_through_a_third_copy(
    sample_photos: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """a ~ a-small and a ~ a-grey, but a-small and a-grey were marked not duplicates:
    they never share a group, even though both match the original."""
    folder = tmp_path / "photos"
    folder.mkdir()
    cache = tmp_path / "catalog.sqlite"
    shutil.copy(sample_photos[0], folder / "a.jpg")
    im = Image.open(sample_photos[0])
    im.resize((im.width // 2, im.height // 2)).save(folder / "a-small.jpg")
    im.convert("L").save(folder / "a-grey.jpg")
    assert len(_dupes(folder, cache, capsys)["groups"][0]["members"]) == 3
    args = ["mark", "--cache", str(cache), "not-duplicates"]
    assert main([*args, str(folder / "a-small.jpg"), str(folder / "a-grey.jpg")]) == 0
    capsys.readouterr()
    for group in _dupes(folder, cache, capsys)["groups"]:
        names = {Path(m["path"]).name for m in group["members"]}
        assert not {"a-small.jpg", "a-grey.jpg"} <= names, names


def test_not_duplicates_from_the_review_page_lasts(
    sample_photos: list[Path], tmp_path: Path
) -> None:
    from lookalike.cli.dupes_command import remember_not_duplicates
    from lookalike.dupes.find import DupesOptions, find_duplicates

    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(sample_photos[0], folder / "a.jpg")
    im = Image.open(sample_photos[0])
    im.resize((im.width // 2, im.height // 2)).save(folder / "a-small.jpg")
    options = DupesOptions(jobs=1, cache=str(tmp_path / "catalog.sqlite"))
    report = find_duplicates([folder], options)
    assert len(report.groups) == 1
    remember_not_duplicates(report, options.cache, [m.path for m in report.groups[0].members])
    assert find_duplicates([folder], options).groups == []
