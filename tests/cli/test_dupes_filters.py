"""Filters people use: hidden folders, --exclude, --ext, --min-bytes, --min-size, --exact-only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from lookalike.cli import main


def _groups(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict]:  # type: ignore[type-arg]
    assert main(["dupes", *argv, "--no-cache", "--json", "-j", "1"]) == 0
    return json.loads(capsys.readouterr().out)["groups"]  # type: ignore[no-any-return]


def test_filters_leave_out_what_was_asked(
    sample_photos: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    (root / ".hidden").mkdir(parents=True)
    (root / "skip").mkdir()
    shutil.copy(sample_photos[0], root / "a.jpg")
    shutil.copy(sample_photos[0], root / ".hidden" / "a.jpg")
    shutil.copy(sample_photos[0], root / "skip" / "a.jpg")
    im = Image.open(sample_photos[0])
    im.resize((im.width // 2, im.height // 2)).save(root / "a-small.png")
    assert len(_groups([str(root)], capsys)[0]["members"]) == 3
    assert len(_groups([str(root), "--hidden"], capsys)[0]["members"]) == 4
    assert len(_groups([str(root), "--exclude", str(root / "skip")], capsys)[0]["members"]) == 2
    assert len(_groups([str(root), "--exclude", "*.png"], capsys)[0]["members"]) == 2
    assert len(_groups([str(root), "--ext", "jpg"], capsys)[0]["members"]) == 2
    assert len(_groups([str(root), "--exact-only"], capsys)[0]["members"]) == 2
    assert len(_groups([str(root), "--min-size", "200"], capsys)[0]["members"]) == 2
    small = (root / "a-small.png").stat().st_size
    big = (root / "a.jpg").stat().st_size
    if small < big:
        assert len(_groups([str(root), "--min-bytes", str(small + 1)], capsys)[0]["members"]) == 2
