"""The `lookalike` command as a user runs it: compare and hash, people's and programs' output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from lookalike import compare
from lookalike.cli import main


@pytest.fixture
def pair(sample_photos: list[Path], tmp_path: Path) -> tuple[Path, Path]:
    """A photo and a resized, recompressed copy of it under a Chinese name."""
    a = tmp_path / "原图.jpg"
    shutil.copy(sample_photos[0], a)
    b = tmp_path / "副本.jpg"
    im = Image.open(a)
    im.resize((im.width * 2 // 3, im.height * 2 // 3)).save(b, quality=70)
    return a, b


def test_compare_api_scores_every_default_method(pair: tuple[Path, Path]) -> None:
    result = compare(*pair)
    assert result.verdict == "similar"
    assert result.scores["phash"].distance <= 5
    assert set(result.scores) >= {"ahash", "dhash", "phash", "whash", "color", "content", "ssim"}
    d = result.to_dict()
    assert d["methods"]["phash"]["verdict"] in ("similar", "identical")
    assert 0.9 <= d["similarity"] <= 1.0


def test_compare_json_has_the_documented_shape(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["compare", str(pair[0]), str(pair[1]), "-m", "phash", "-m", "color", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["a"] == str(pair[0]) and out["b"] == str(pair[1])
    assert set(out["methods"]) == {"phash", "color"}
    ph = out["methods"]["phash"]
    assert isinstance(ph["distance"], int)
    assert ph["similarity"] == pytest.approx(1 - ph["distance"] / 64, abs=1e-6)
    assert out["verdict"] == "similar"


def test_compare_different_photos_and_identical_file(
    sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = sample_photos[0], sample_photos[3]
    assert main(["compare", str(a), str(b), "-m", "phash", "-m", "dhash"]) == 0
    text = capsys.readouterr().out
    assert "different 不同" in text and "verdict 结论" in text
    assert main(["compare", str(a), str(a), "--json", "-m", "phash", "-m", "ssim"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "identical"


def test_compare_reports_an_unreadable_file(
    tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "坏.jpg"
    bad.write_bytes(b"")
    assert main(["compare", str(sample_photos[0]), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "坏.jpg" in err and "empty file" in err


def test_hash_prints_hex_then_path_and_keeps_going_past_bad_files(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    code = main(["hash", str(pair[0]), str(bad), str(pair[1])])
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.out.splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == [str(pair[0]), str(pair[1])]
    assert all(len(line.split("  ", 1)[0]) == 16 for line in lines)
    assert "notes.jpg: not an image" in captured.err


def test_hash_exact_equals_imagehash_and_json(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    imagehash = pytest.importorskip("imagehash")
    assert main(["hash", "--exact", "--method", "dhash", "--json", str(pair[0])]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hashes"][0]["hash"] == str(imagehash.dhash(Image.open(pair[0])))
    assert out["errors"] == []
    assert main(["hash", "--hash-size", "16", str(pair[0])]) == 0
    assert len(capsys.readouterr().out.split()[0]) == 64


def test_installed_console_script_runs(pair: tuple[Path, Path]) -> None:
    exe = Path(sys.executable).with_name("lookalike")
    if not exe.exists():
        pytest.skip("the lookalike console script is not installed in this environment")
    done = subprocess.run(
        [str(exe), "hash", str(pair[0]), str(pair[1]), "--jobs", "2"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "原图.jpg" in done.stdout and "副本.jpg" in done.stdout
