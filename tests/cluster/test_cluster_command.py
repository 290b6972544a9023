"""lookalike cluster on real pictures: duplicates collapsed, renditions beside their originals."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest
from corpus import CORPUS
from PIL import Image

from lookalike.cli import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["cluster", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture()
def folder(tmp_path: Path, sample_photos: list[Path]) -> Path:
    """The sample photos in a folder with a Chinese name, with copies and a broken file."""
    d = tmp_path / "图片 集"
    d.mkdir()
    for p in sample_photos:
        shutil.copy(p, d / p.name)
    for p in sample_photos[:2]:  # a smaller and a recompressed copy of two of them
        im = Image.open(p).convert("RGB")
        im.resize((im.width // 2, im.height // 2)).save(d / f"{p.stem} 小.jpg", quality=80)
    (d / "坏的.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return d


def test_json_is_exactly_clusters_and_noise_and_copies_stay_together(
    folder: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv_path, html = tmp_path / "分配.csv", tmp_path / "报告.html"
    rc, out, err = _run(
        capsys,
        str(folder),
        "--no-cache",
        "--k",
        "3",
        "--json",
        "--csv",
        str(csv_path),
        "--report",
        str(html),
    )
    assert rc == 1 and "坏的.jpg" in err  # the broken file is reported, the rest goes on
    data = json.loads(out)
    assert set(data) == {"clusters", "noise"}
    assert all(set(c) == {"id", "members"} for c in data["clusters"])
    assert [c["id"] for c in data["clusters"]] == list(range(len(data["clusters"])))
    placed = [p for c in data["clusters"] for p in c["members"]] + data["noise"]
    assert len(placed) == len(set(placed)) == 10  # 8 photos + 2 copies, not the broken one
    where = {p: c["id"] for c in data["clusters"] for p in c["members"]}
    for stem in ("Altai", "Autumn"):  # a copy is in its original's cluster, never noise
        assert where[str(folder / f"{stem}.jpg")] == where[str(folder / f"{stem} 小.jpg")]
    with open(csv_path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["path"] for r in rows} == set(placed)
    assert all(
        r["cluster"] == ("" if r["path"] in data["noise"] else str(where[r["path"]])) for r in rows
    )
    copy_row = next(r for r in rows if r["path"].endswith("Altai 小.jpg"))
    assert copy_row["representative"] == str(folder / "Altai.jpg")
    page = html.read_text(encoding="utf-8")
    assert "图片聚类" in page and "Image clusters" in page and "聚类 0" in page
    assert page.count("data:image/jpeg;base64,") == 10 and "坏的.jpg" in page
    assert "<code>gist</code>" in page


def test_text_output_names_the_descriptor_and_model_switches_it(
    folder: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc, out, _ = _run(capsys, str(folder), "--no-cache")
    assert rc == 1 and "descriptor 描述子: gist" in out and "after collapsing duplicates" in out
    from onnx_models import projection_model

    pytest.importorskip("onnxruntime", reason="embed needs onnxruntime")
    model = projection_model(tmp_path / "模型.onnx")
    rc, out, _ = _run(capsys, str(folder), "--no-cache", "--model", str(model))
    assert "descriptor 描述子: embed" in out
    rc, out, err = _run(capsys, str(folder), "--no-cache", "--model", str(folder / "Altai.jpg"))
    assert rc == 2 and "not an ONNX model" in err and "Altai.jpg" in err


@pytest.mark.slow
def test_corpus_renditions_land_in_their_originals_cluster(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The corpus wallpapers: the renditions the packages ship (previews, other sizes,
    crops to other aspects, dark recolourings) beside their originals, in clusters that
    are not one lump."""
    photos = CORPUS / "photos"
    if not (photos / "originals").is_dir():
        pytest.skip("../shared/corpus/photos is absent (it lives beside the repo clone)")
    rc, out, _ = _run(capsys, str(photos), "--no-cache", "--json", "-j", "2")
    assert rc == 0
    data = json.loads(out)
    where = {p: c["id"] for c in data["clusters"] for p in c["members"]}
    variants = sorted(p for p in (*where, *data["noise"]) if "__" in os.path.basename(p))
    assert len(variants) == 61
    same = {
        v: where.get(v) is not None
        and where.get(v)
        == where.get(str(photos / "originals" / (Path(v).stem.split("__")[0] + ".jpg")))
        for v in variants
    }
    previews = [v for v in variants if v.endswith("__screenshot.jpg")]
    assert all(same[v] for v in previews), [v for v in previews if not same[v]]
    assert sum(same.values()) >= 0.9 * len(variants), [v for v in variants if not same[v]]
    sizes = sorted((len(c["members"]) for c in data["clusters"]), reverse=True)
    assert len(sizes) >= 5 and sizes[0] < 0.5 * len(where), sizes
