"""A collection whose catalog lives in PostgreSQL (``lookalike index --catalog URI``), on a
real server (127.0.0.1): two machines' collections index different folders into one
catalog, and each one's search finds the other's pictures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from PIL import Image

from lookalike.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_two_collections_index_into_one_catalog_and_search_all_of_it(
    uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = sorted(SAMPLES.glob("*.jpg"))
    first, second = tmp_path / "第一台" / "照片", tmp_path / "second" / "photos"
    for folder, part in ((first, photos[:4]), (second, photos[4:])):
        folder.mkdir(parents=True)
        for p in part:
            shutil.copy(p, folder / p.name)
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    code, out, err = _run(capsys, "index", str(first), "--db", str(a), "--catalog", uri, "--json")
    assert code == 0, err
    assert json.loads(out)["update"]["computed"] == 4
    code, out, err = _run(capsys, "index", str(second), "--db", str(b), "--catalog", uri, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["update"]["computed"] == 4 and info["collection"]["images"] == 8  # both
    assert info["collection"]["catalog"] == uri
    assert not (b / "catalog.sqlite").exists()

    query = tmp_path / "查询.jpg"  # a smaller copy of a picture the first machine indexed
    Image.open(photos[1]).resize((240, 150)).save(query, quality=80)
    code, out, err = _run(capsys, "search", str(query), "--db", str(b), "--json")
    assert code == 0, err
    top = json.loads(out)["results"][0]
    assert top["path"] == str(first / photos[1].name) and top["verdict"] != "different"

    # the first collection's index follows what the second added
    code, out, err = _run(capsys, "search", str(photos[6]), "--db", str(a), "--json")
    assert json.loads(out)["results"][0]["path"] == str(second / photos[6].name)


def test_a_catalog_is_chosen_once_and_a_bad_one_writes_nothing(
    uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = tmp_path / "a.db"
    assert _run(capsys, "index", str(SAMPLES), "--db", str(a))[0] == 0
    code, _, err = _run(capsys, "index", str(SAMPLES), "--db", str(a), "--catalog", uri)
    assert code == 1 and "catalog.sqlite" in err and "new --db folder" in err

    dead = "postgresql://someone:secret@127.0.0.1:9/none"
    b = tmp_path / "b.db"
    code, _, err = _run(capsys, "index", str(SAMPLES), "--db", str(b), "--catalog", dead)
    assert code == 1 and "someone:***@127.0.0.1:9" in err and "secret" not in err
    assert not b.exists()  # no collection left behind naming a catalog it cannot reach
    code, _, err = _run(capsys, "index", str(SAMPLES), "--db", str(b), "--catalog", "/tmp/x")
    assert code == 2 and "postgresql://" in err
