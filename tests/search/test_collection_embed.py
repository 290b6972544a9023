"""A collection with the learned layer: its descriptors find crops the hashes and words
miss, the collection remembers its model, and a bad model changes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from edited import CROPPED, corner_crop

import lookalike.search.collection as collection
from lookalike.cli import main
from lookalike.errors import UsageError
from lookalike.search.collection import Collection

pytest.importorskip("onnxruntime", reason="the embed method needs onnxruntime")


@pytest.fixture
def folder(sample_photos: list[Path], tmp_path: Path) -> Path:
    out = tmp_path / "照片"
    out.mkdir()
    for p in sample_photos:
        shutil.copy(p, out / p.name)
    return out


def test_the_learned_layer_proposes_crops_the_other_candidates_miss(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One pHash neighbour and no word candidates: only the learned layer can propose more
    # (in a large collection the hashes' and words' candidates run out the same way).
    monkeypatch.setattr(collection, "CANDIDATES", 1)
    monkeypatch.setattr(collection, "WORD_CANDIDATES", 0)
    with (
        Collection(tmp_path / "with", create=True, model="default") as learned,
        Collection(tmp_path / "without", create=True) as plain,
    ):
        learned.update([folder])
        plain.update([folder])
        for name in CROPPED:
            query = corner_crop(folder / name)
            hit = learned.search(query, k=1).results[0]
            assert Path(hit.path).name == name and hit.verdict == "similar", hit
            assert hit.relation is not None and hit.relation.kind == "cropped"
            missed = plain.search(query, k=1).results[0]
            assert Path(missed.path).name != name and missed.verdict == "different", missed


def test_the_collection_remembers_its_model(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "db"
    with Collection(db, create=True) as c:
        c.update([folder])
        assert "embed" not in c.stats()["methods"]
    with Collection(db, model="default") as c:  # added to an existing collection
        stats = c.update([folder])
        assert (stats.computed, stats.failed) == (8, 0)  # each photo gains its descriptor
        assert c.stats()["model"] == "default"
    with Collection(db) as c:  # later opens need not name it
        assert c.stats()["methods"][-1] == "embed"
        hit = c.search(corner_crop(folder / "Kite.jpg"), k=1).results[0]
        assert Path(hit.path).name == "Kite.jpg"


def test_a_missing_model_is_refused_before_anything_is_written(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UsageError, match="no such model file"):
        Collection(tmp_path / "new", create=True, model=tmp_path / "nope.onnx")
    assert not (tmp_path / "new").exists()
    db = tmp_path / "db"
    assert main(["index", str(folder), "--db", str(db), "--json"]) == 0
    before = (db / "collection.json").read_text()
    capsys.readouterr()
    assert main(["index", str(folder), "--db", str(db), "--model", str(tmp_path / "x.onnx")]) == 2
    assert "x.onnx: no such model file" in capsys.readouterr().err
    assert (db / "collection.json").read_text() == before


def test_index_model_on_the_command_line(folder: Path, tmp_path: Path, capsys) -> None:
    db = tmp_path / "db"
    assert main(["index", str(folder), "--db", str(db), "--model", "default", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["collection"]["model"] == "default"
    assert out["collection"]["methods"][-1] == "embed"
